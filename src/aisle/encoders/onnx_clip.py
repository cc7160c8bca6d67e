"""The two CLIP towers on ONNX Runtime, in the same `space` as the open_clip (PyTorch) towers.

Images are preprocessed with PIL and numpy, reproducing open_clip's eval transform (resize the shortest
side, centre-crop, scale, normalise) from the preprocessing config recorded at export, so the image path
needs no PyTorch; configurations this does not cover fall back to open_clip's own transform.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np

from aisle.config import get_settings
from aisle.encoders.base import EncoderError, EncoderInfo, ImageInput, Vectors, empty_vectors, l2_normalise
from aisle.encoders.clip import ClipModel, ClipSpec
from aisle.encoders.images import load_rgb
from aisle.encoders.onnx_export import ensure_clip_onnx, file_name, read_manifest, space_dir
from aisle.encoders.onnx_lanes import SessionLanes


class ClipPreprocess:
    """An RGB PIL image -> float32 [3, H, W], as open_clip's eval transform computes it."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.height, self.width = cfg["size"]
        self.mean = np.asarray(cfg["mean"], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(cfg["std"], dtype=np.float32).reshape(3, 1, 1)
        self.mode = cfg.get("resize_mode", "shortest")
        self.bilinear = cfg.get("interpolation") == "bilinear"
        self._fallback: Callable[[Any], Any] | None = None
        if self.mode not in ("shortest", "squash") or (self.mode == "shortest" and self.height != self.width):
            import open_clip

            self._fallback = open_clip.image_transform(
                (self.height, self.width),
                is_train=False,
                mean=cfg["mean"],
                std=cfg["std"],
                resize_mode=self.mode,
                interpolation=cfg.get("interpolation"),
                fill_color=cfg.get("fill_color", 0),
            )

    def __call__(self, image: Any) -> np.ndarray:
        if self._fallback is not None:
            return np.asarray(self._fallback(image).numpy(), dtype=np.float32)
        from PIL import Image

        resample = Image.Resampling.BILINEAR if self.bilinear else Image.Resampling.BICUBIC
        w, h = image.size
        if self.mode == "squash":
            size = (self.width, self.height)
        elif w <= h:  # torchvision's Resize(int): the short side becomes `size`, the long one is truncated
            size = (self.width, int(self.width * h / w))
        else:
            size = (int(self.height * w / h), self.height)
        if size != (w, h):
            image = image.resize(size, resample)
        w, h = image.size
        top, left = int(round((h - self.height) / 2.0)), int(round((w - self.width) / 2.0))
        if (top, left) != (0, 0) or (w, h) != (self.width, self.height):
            image = image.crop((left, top, left + self.width, top + self.height))
        pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / np.float32(255.0)
        return (pixels - self.mean) / self.std


class _OnnxClipTower:
    tower = ""
    kind: Literal["image", "text"] = "image"

    def __init__(
        self,
        spec: str,
        *,
        quantized: bool = False,
        batch_size: int = 64,
        name: str = "clip",
        providers: list[str] | None = None,
        threads: int | None = None,
        onnx_dir: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise EncoderError(f"batch_size must be positive, got {batch_size}")
        self.clip = ClipModel(ClipSpec.parse(spec), device="cpu", batch_size=batch_size)  # cheap: no weights yet
        self.quantized = quantized
        self.batch_size = batch_size
        self.providers = providers
        self.threads = threads
        self.onnx_root = onnx_dir or get_settings().onnx_dir  # fixed here: later settings changes do not move files
        backend = "onnx-int8" if quantized else "onnx"
        self.info = EncoderInfo(name, self.kind, self.clip.dim, "cosine", True, backend, self.clip.space)
        self.files_dir = space_dir(self.clip.space, self.onnx_root)
        self._lanes: SessionLanes | None = None
        self._extra: Any = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The ONNX file, exported on first use (which loads the PyTorch model once)."""
        return ensure_clip_onnx(self.clip, self.tower, quantized=self.quantized, root=self.onnx_root)

    def _load_extra(self, entry: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _parts(self) -> tuple[SessionLanes, Any]:
        if self._lanes is None:
            with self._lock:
                if self._lanes is None:
                    path = self.path
                    entry = read_manifest(path.parent)["files"][file_name(self.tower, self.quantized)]
                    self._extra = self._load_extra(entry)
                    self._lanes = SessionLanes(path, providers=self.providers, threads=self.threads)
        return self._lanes, self._extra

    def _run(self, batches: Any, feed: str) -> Vectors:
        lanes, _ = self._parts()
        return l2_normalise(np.concatenate(list(lanes.run_batches({feed: batch} for batch in batches))))


class OnnxClipImageEncoder(_OnnxClipTower):
    """The image tower as an ImageEncoder."""

    tower = "clip_image"
    kind = "image"

    def _load_extra(self, entry: dict[str, Any]) -> ClipPreprocess:
        return ClipPreprocess(entry["preprocess"])

    def warm_up(self) -> None:
        from PIL import Image

        self.encode_images([Image.new("RGB", (32, 32))])

    def encode_images(self, images: Sequence[ImageInput], *, progress: bool = False) -> Vectors:
        if not images:
            return empty_vectors(self.info.dim)
        from tqdm import tqdm

        _, preprocess = self._parts()

        def pixels() -> Any:
            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                starts = range(0, len(images), self.batch_size)
                for start in tqdm(starts, disable=not progress, desc="images", unit="batch"):
                    chunk = images[start : start + self.batch_size]
                    yield np.stack(list(pool.map(lambda im: preprocess(load_rgb(im)), chunk)))

        return self._run(pixels(), "pixels")


class OnnxClipTextEncoder(_OnnxClipTower):
    """The text tower as a TextEncoder: queries and product titles land in the image space."""

    tower = "clip_text"
    kind = "text"

    def _load_extra(self, entry: dict[str, Any]) -> Callable[[list[str]], np.ndarray]:
        import open_clip

        tokenizer = open_clip.get_tokenizer(self.clip.spec.model)
        return lambda texts: np.asarray(tokenizer(texts).numpy(), dtype=np.int64)

    def warm_up(self) -> None:
        self.encode_queries(["warm up"])

    def _encode(self, texts: Sequence[str], progress: bool) -> Vectors:
        if not texts:
            return empty_vectors(self.info.dim)
        from tqdm import tqdm

        _, tokenize = self._parts()
        starts = range(0, len(texts), self.batch_size)
        batches = (
            tokenize(list(texts[start : start + self.batch_size]))
            for start in tqdm(starts, disable=not progress, desc="texts", unit="batch")
        )
        return self._run(batches, "tokens")

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, False)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode(texts, progress)
