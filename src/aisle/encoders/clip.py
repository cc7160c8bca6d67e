"""CLIP on open_clip: the image tower and the text tower of one model, as two encoders sharing weights.

A model is named by a `ClipSpec`: a built-in open_clip architecture plus a local checkpoint file (or a
pretrained tag already in the local cache), or a `local-dir:` folder with `open_clip_config.json` and
weights (the format aisle's catalogue-trained CLIP is saved in). `pretrained=None` gives random weights
with a fixed seed: a baseline, and what tests use.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aisle.encoders.base import (
    EncoderError,
    EncoderInfo,
    ImageInput,
    Vectors,
    empty_vectors,
    l2_normalise,
    pick_device,
)
from aisle.encoders.images import load_rgb


@dataclass(frozen=True, slots=True)
class ClipSpec:
    model: str  # an open_clip architecture name, or "local-dir:PATH"
    pretrained: str | None = None  # a checkpoint file, a cached tag, or None for random weights
    seed: int = 0  # for random weights

    @classmethod
    def parse(cls, text: str) -> ClipSpec:
        """'ARCH', 'ARCH:CHECKPOINT_OR_TAG', 'local-dir:PATH', or a folder path (taken as local-dir)."""
        if text.startswith("local-dir:"):
            return cls(text)
        if Path(text).is_dir():
            return cls(f"local-dir:{Path(text).resolve()}")
        model, _, pretrained = text.partition(":")
        return cls(model, pretrained or None)

    def fingerprint(self) -> str:
        if self.model.startswith("local-dir:"):
            from aisle.encoders.text import weights_fingerprint

            folder = Path(self.model.removeprefix("local-dir:"))
            return f"{folder.name}:{weights_fingerprint(folder)}"
        if self.pretrained is None:
            return f"{self.model}:random-seed{self.seed}"
        path = Path(self.pretrained)
        if path.is_file():
            with path.open("rb") as handle:
                head = hashlib.sha1(handle.read(1 << 20)).hexdigest()[:12]
            return f"{self.model}:{path.name}:{path.stat().st_size}:{head}"
        return f"{self.model}:{self.pretrained}"


class ClipModel:
    """Loads an open_clip model once (lazily) for both towers."""

    def __init__(self, spec: ClipSpec, *, device: str | None = None, batch_size: int = 64) -> None:
        self.spec = spec
        self.device = device
        self.batch_size = batch_size
        self._loaded: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()
        self.dim = self._embed_dim()
        self.space = f"clip:{spec.fingerprint()}"

    def _embed_dim(self) -> int:
        if self.spec.model.startswith("local-dir:"):
            from aisle.encoders.clip_folder import read_config

            return int(read_config(Path(self.spec.model.removeprefix("local-dir:")))["model_cfg"]["embed_dim"])
        import open_clip

        config = open_clip.get_model_config(self.spec.model)
        if config is None:
            raise EncoderError(f"unknown open_clip architecture {self.spec.model!r}")
        return int(config["embed_dim"])

    def _load(self) -> tuple[Any, Any, Any]:
        import open_clip
        import torch

        spec = self.spec
        if spec.model.startswith("local-dir:"):
            from aisle.encoders.clip_folder import is_portable_hf_folder, load_portable_folder

            folder = Path(spec.model.removeprefix("local-dir:"))
            if is_portable_hf_folder(folder):  # aisle's catalogue-trained CLIP: its text tower is in the folder
                return load_portable_folder(folder, pick_device(self.device))
        if spec.pretrained and not Path(spec.pretrained).is_file():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a tag may be in the local cache; never download
        if spec.pretrained is None:
            torch.manual_seed(spec.seed)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                spec.model, pretrained=spec.pretrained, device=pick_device(self.device)
            )
            tokenizer = open_clip.get_tokenizer(spec.model)
        except Exception as exc:  # open_clip raises many types for a missing or wrong checkpoint
            raise EncoderError(
                f"cannot load CLIP {spec.model!r} with weights {spec.pretrained!r}: {exc}. aisle never downloads "
                "weights: pass a local checkpoint file or a local-dir: folder"
            ) from exc
        model.eval()
        return model, preprocess, tokenizer

    @property
    def parts(self) -> tuple[Any, Any, Any]:
        """(model, image preprocess, tokenizer)."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def encode_images(self, images: Sequence[ImageInput], progress: bool = False) -> Vectors:
        if not images:
            return empty_vectors(self.dim)
        import torch
        from tqdm import tqdm

        model, preprocess, _ = self.parts
        device = next(model.parameters()).device
        out = []
        batches = range(0, len(images), self.batch_size)
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for start in tqdm(batches, disable=not progress, desc="images", unit="batch"):
                chunk = images[start : start + self.batch_size]
                pixels = list(pool.map(lambda im: preprocess(load_rgb(im)), chunk))
                with torch.inference_mode():
                    out.append(model.encode_image(torch.stack(pixels).to(device)).float().cpu().numpy())
        return l2_normalise(np.concatenate(out))

    def encode_texts(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        if not texts:
            return empty_vectors(self.dim)
        import torch
        from tqdm import tqdm

        model, _, tokenizer = self.parts
        device = next(model.parameters()).device
        out = []
        for start in tqdm(range(0, len(texts), self.batch_size), disable=not progress, desc="texts", unit="batch"):
            tokens = tokenizer(list(texts[start : start + self.batch_size])).to(device)
            with torch.inference_mode():
                out.append(model.encode_text(tokens).float().cpu().numpy())
        return l2_normalise(np.concatenate(out))


class ClipImageEncoder:
    """The image tower as an ImageEncoder."""

    def __init__(self, clip: ClipModel, name: str = "clip") -> None:
        self.clip = clip
        self.info = EncoderInfo(name, "image", clip.dim, "cosine", True, "torch", clip.space)

    def warm_up(self) -> None:
        from PIL import Image

        self.encode_images([Image.new("RGB", (32, 32))])

    def encode_images(self, images: Sequence[ImageInput], *, progress: bool = False) -> Vectors:
        return self.clip.encode_images(images, progress)


class ClipTextEncoder:
    """The text tower as a TextEncoder: queries and product titles land in the image space."""

    def __init__(self, clip: ClipModel, name: str = "clip") -> None:
        self.clip = clip
        self.info = EncoderInfo(name, "text", clip.dim, "cosine", True, "torch", clip.space)

    def warm_up(self) -> None:
        self.encode_queries(["warm up"])

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self.clip.encode_texts(texts)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self.clip.encode_texts(texts, progress)


def save_clip_folder(
    model: Any, model_cfg: dict[str, Any], folder: Path, preprocess_cfg: dict[str, Any] | None = None
) -> Path:
    """Save weights + config in open_clip's `local-dir:` layout, loadable by `ClipSpec('local-dir:...')`."""
    import json

    from safetensors.torch import save_model

    from aisle.encoders.clip_folder import CONFIG, WEIGHTS

    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg or {}}
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    save_model(model, str(folder / WEIGHTS))
    return folder
