"""BERT-family text encoders on ONNX Runtime: the same vectors (and `space`) as the sentence-transformers
encoder, without PyTorch at query time. int8 (per-token activations, see `onnx_quant`) stays within
cosine 0.99 of PyTorch fp32 on product titles.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.config import get_settings
from aisle.encoders.base import EncoderError, Vectors, empty_vectors, l2_normalise
from aisle.encoders.onnx_export import ensure_text_onnx, make_session, space_dir
from aisle.encoders.text import SentenceTransformerEncoder

Tokenize = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


def _pad_token(folder: Path) -> str:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            token = json.loads(path.read_text()).get("pad_token")
            if isinstance(token, dict):
                token = token.get("content")
            if isinstance(token, str):
                return token
    return "[PAD]"


def load_tokenizer(folder: Path, max_length: int) -> Tokenize:
    """texts -> (input_ids, attention_mask) int64, truncated to `max_length` and padded to the batch's longest.

    The folder's fast tokenizer (`tokenizer.json`) through `tokenizers` alone, which keeps transformers (and
    torch) out of the query path; folders without one go through transformers' AutoTokenizer.
    """
    path = folder / "tokenizer.json"
    if path.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=max_length)
        pad = _pad_token(folder)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)  # longest, not fixed

        def fast(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
            encodings = tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            return ids, np.array([e.attention_mask for e in encodings], dtype=np.int64)

        return fast
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)

    def slow(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        batch = auto(texts, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        return batch["input_ids"].astype(np.int64), batch["attention_mask"].astype(np.int64)

    return slow


class OnnxTextEncoder:
    """A TextEncoder on ONNX Runtime: length-sorted batches padded per batch, CUDA when present."""

    def __init__(
        self,
        model: str | Path = "minilm",
        *,
        quantized: bool = False,
        name: str | None = None,
        batch_size: int = 64,
        max_seq_length: int = 128,
        query_prefix: str = "",
        document_prefix: str = "",
        providers: list[str] | None = None,
        threads: int | None = None,
        onnx_dir: Path | None = None,
        device: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise EncoderError(f"batch_size must be positive, got {batch_size}")
        reference = SentenceTransformerEncoder(model, name=name, max_seq_length=max_seq_length)  # cheap: no weights
        self.folder = reference.folder
        self.quantized = quantized
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        if providers is None and device == "cpu":  # same options as the torch backend: device="cpu" pins it
            providers = ["CPUExecutionProvider"]
        self.providers = providers
        self.threads = threads
        self.info = dataclasses.replace(reference.info, backend="onnx-int8" if quantized else "onnx")
        self.onnx_root = onnx_dir or get_settings().onnx_dir  # fixed here: later settings changes do not move files
        self.files_dir = space_dir(self.info.space, self.onnx_root)
        self._loaded: tuple[Any, Tokenize] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The ONNX file, exported on first use."""
        return ensure_text_onnx(self.folder, self.info.space, quantized=self.quantized, root=self.onnx_root)

    def _parts(self) -> tuple[Any, Tokenize]:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    session = make_session(self.path, providers=self.providers, threads=self.threads)
                    self._loaded = (session, load_tokenizer(self.folder, self.max_seq_length))
        return self._loaded

    def warm_up(self) -> None:
        self.encode_queries(["warm up"])

    def _encode(self, texts: Sequence[str], prefix: str, progress: bool) -> Vectors:
        if not texts:
            return empty_vectors(self.info.dim)
        from tqdm import tqdm

        session, tokenize = self._parts()
        inputs = [prefix + text for text in texts]
        order = np.argsort([-len(text) for text in inputs], kind="stable")  # similar lengths share a batch
        out = np.empty((len(inputs), self.info.dim), dtype=np.float32)
        starts = range(0, len(inputs), self.batch_size)
        for start in tqdm(starts, disable=not progress, desc="texts", unit="batch"):
            rows = order[start : start + self.batch_size]
            ids, mask = tokenize([inputs[i] for i in rows])
            out[rows] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return l2_normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, self.query_prefix, False)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode(texts, self.document_prefix, progress)
