"""BERT-family text encoders on ONNX Runtime: the same vectors (and `space`) as the sentence-transformers
encoder, without PyTorch at query time. int8 (calibrated constant scales where they hold, per-token ones
after GELU; see `onnx_quant` and `onnx_calibration`) stays within cosine 0.99 of PyTorch fp32 on product
titles and descriptions.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from aisle.config import get_settings
from aisle.encoders.base import EncoderError, Vectors, empty_vectors, l2_normalise
from aisle.encoders.onnx_export import ensure_text_onnx, space_dir
from aisle.encoders.onnx_lanes import SessionLanes
from aisle.encoders.text import SentenceTransformerEncoder

Tokenize = Callable[[list[str]], list[list[int]]]  # token ids per text, truncated, not padded


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


def load_tokenizer(folder: Path, max_length: int) -> tuple[Tokenize, int]:
    """(texts -> token ids truncated to `max_length`, the padding id).

    The folder's fast tokenizer (`tokenizer.json`) through `tokenizers` alone, which keeps transformers (and
    torch) out of the query path; folders without one go through transformers' AutoTokenizer. Padding is left
    to the caller, which batches texts of equal token counts together.
    """
    path = folder / "tokenizer.json"
    if path.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.no_padding()  # some folders' tokenizer.json pad every text to a fixed length

        def fast(texts: list[str]) -> list[list[int]]:
            return [e.ids for e in tokenizer.encode_batch_fast(texts)]

        return fast, tokenizer.token_to_id(_pad_token(folder)) or 0
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)

    def slow(texts: list[str]) -> list[list[int]]:
        return [list(ids) for ids in auto(texts, truncation=True, max_length=max_length)["input_ids"]]

    return slow, auto.pad_token_id or 0


def padded_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) int64, padded to the longest of `ids`."""
    width = max(1, max((len(row) for row in ids), default=1))
    out = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        out[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return out, mask


class OnnxTextEncoder:
    """A TextEncoder on ONNX Runtime, CUDA when present. Texts are tokenized first and batched by token count,
    so a batch pads to little more than its own length (product titles: about a third fewer tokens than
    batches sorted by characters, as sentence-transformers sorts them)."""

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
        lanes: int | None = None,
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
        self.lanes = lanes
        self.info = dataclasses.replace(reference.info, backend="onnx-int8" if quantized else "onnx")
        self.onnx_root = onnx_dir or get_settings().onnx_dir  # fixed here: later settings changes do not move files
        self.files_dir = space_dir(self.info.space, self.onnx_root)
        self._loaded: tuple[SessionLanes, Tokenize, int] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The ONNX file, exported on first use."""
        return ensure_text_onnx(self.folder, self.info.space, quantized=self.quantized, root=self.onnx_root)

    def _parts(self) -> tuple[SessionLanes, Tokenize, int]:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    lanes = SessionLanes(self.path, providers=self.providers, threads=self.threads, lanes=self.lanes)
                    self._loaded = (lanes, *load_tokenizer(self.folder, self.max_seq_length))
        return self._loaded

    def warm_up(self) -> None:
        self.encode_queries(["warm up"])

    def _encode(self, texts: Sequence[str], prefix: str, progress: bool) -> Vectors:
        if not texts:
            return empty_vectors(self.info.dim)
        from tqdm import tqdm

        lanes, tokenize, pad_id = self._parts()
        tokens = tokenize([prefix + text for text in texts])
        order = np.argsort([-len(ids) for ids in tokens], kind="stable")  # equal token counts share a batch
        batches = [order[start : start + self.batch_size] for start in range(0, len(tokens), self.batch_size)]
        feeds = (
            dict(zip(("input_ids", "attention_mask"), padded_batch([tokens[i] for i in rows], pad_id), strict=True))
            for rows in batches
        )
        out = np.empty((len(tokens), self.info.dim), dtype=np.float32)
        done = tqdm(batches, disable=not progress, desc="texts", unit="batch")
        for rows, vectors in zip(done, lanes.run_batches(feeds), strict=True):
            out[rows] = vectors
        return l2_normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, self.query_prefix, False)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encode(texts, self.document_prefix, progress)
