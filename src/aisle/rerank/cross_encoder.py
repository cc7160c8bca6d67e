"""The relevance cross-encoder: (query, product text) -> one logit, on PyTorch (CUDA fp16/bf16 when present,
else CPU fp32) or ONNX Runtime (fp32, or int8 through the encoders' quantizer, calibrated like the text
encoder's: constant scales for LayerNorm outputs and attention context, per-token scales after GELU).

Pairs are tokenised outside the model with the folder's fast tokenizer (`tokenizers` alone), so the PyTorch
and ONNX paths see identical inputs and the ONNX path needs neither transformers nor torch at query time.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from aisle.encoders.onnx_export import make_session
from aisle.files import atomic_write

log = logging.getLogger(__name__)
Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = ("torch", "onnx", "onnx-int8")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
DESCRIPTION_CHARS = 300


def doc_text(hit: Mapping[str, Any]) -> str:
    """What the cross-encoder reads of a product: its title, then the start of its description."""
    title = str(hit.get("title") or "")
    description = " ".join(str(hit.get("description") or "").split())[:DESCRIPTION_CHARS]
    return f"{title}. {description}" if description else title


class PairTokenizer:
    """(query, document) pairs -> int64 arrays; only the document is cut to fit `max_length`."""

    def __init__(self, folder: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        path = folder / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"{folder} has no tokenizer.json (save the cross-encoder with a fast tokenizer)")
        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        self.max_length = max_length

    def __call__(self, queries: Sequence[str], docs: Sequence[str]) -> dict[str, np.ndarray]:
        # encode_batch_fast skips character offsets, which nothing here reads (~15% of the tokenising time)
        encodings = self.tokenizer.encode_batch_fast(list(zip(queries, docs, strict=True)))
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }


def new_cross_encoder(base: Path, layers: int | None = None) -> Any:
    """A BERT sequence classifier (one logit) from a bi-encoder folder, keeping its first `layers` layers (the
    head is fresh: fine-tuning teaches it)."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialised head" notice is expected
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            str(base), num_labels=1, local_files_only=True, attn_implementation="eager"
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    if layers is not None:
        encoder = model.base_model.encoder
        if not 1 <= layers <= len(encoder.layer):
            raise ValueError(f"layers must be between 1 and {len(encoder.layer)}, got {layers}")
        encoder.layer = encoder.layer[:layers]
        model.config.num_hidden_layers = layers
    return model


def load_torch(folder: Path, device: str) -> Any:
    """The saved classifier on `device`: bf16 on GPUs that have it, fp16 on other GPUs, fp32 on CPU."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        str(folder), local_files_only=True, attn_implementation="eager"
    )
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        model = model.to(device=device, dtype=dtype)
    else:
        model = model.to(device)
    return model.eval()


def export_onnx(folder: Path, target: Path) -> Path:
    """The fp32 graph (input_ids, attention_mask, token_type_ids) -> logits [batch], checked against PyTorch."""
    import torch

    model = load_torch(folder, "cpu")
    tokenize = PairTokenizer(folder, 32)
    sample = tokenize(["red running shoes", "mug"], ["Acme red running shoe for women", "A blue mug"])
    args = tuple(torch.from_numpy(sample[name]) for name in INPUTS)

    class Logit(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.logits[:, 0]

    wrapper = Logit(model).eval()
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUTS}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings are expected
            torch.onnx.export(
                wrapper, args, str(tmp), dynamo=False, opset_version=OPSET, input_names=list(INPUTS),
                output_names=["logits"], dynamic_axes={**dynamic, "logits": {0: "batch"}},
            )  # fmt: skip

    atomic_write(target, write)
    with torch.no_grad():
        expected = wrapper(*args).numpy()
    got = make_session(target, providers=["CPUExecutionProvider"]).run(None, sample)[0]
    if not np.allclose(got, expected, atol=1e-3):
        target.unlink()
        raise RuntimeError(f"ONNX export of {folder} disagrees with PyTorch ({got} vs {expected})")
    return target


def ensure_onnx(folder: Path, *, quantized: bool) -> Path:
    """`folder/onnx/cross_encoder[.int8].onnx`, exported (and quantized) on first use."""
    onnx_dir = folder / "onnx"
    fp32 = onnx_dir / "cross_encoder.onnx"
    if not fp32.is_file():
        export_onnx(folder, fp32)
        log.info("exported %s", fp32)
    if not quantized:
        return fp32
    int8 = onnx_dir / "cross_encoder.int8.onnx"
    if not int8.is_file():  # a folder quantized before calibration keeps its per-token file: slower, as good
        from aisle.encoders.onnx_calibration import calibrate
        from aisle.encoders.onnx_quant import quantize_per_token

        ranges = calibrate(fp32, calibration_feeds(folder))
        atomic_write(int8, lambda tmp: quantize_per_token(fp32, tmp, calibrated=ranges))
        log.info("quantized %s (%d calibrated inputs)", int8, len(ranges))
    return int8


def saved_max_length(folder: Path, default: int = 64) -> int:
    """The tokens per pair the cross-encoder was trained with (`cross_encoder.json`), else `default`."""
    meta_file = folder / "cross_encoder.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    return int(meta.get("max_length", default))


def calibration_feeds(folder: Path, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """One unpadded (query, product) pair per calibration phrase, cut to the folder's max_length: the query is
    the first one to three words of another phrase (queries are short; titles carry the rest)."""
    import random

    from aisle.encoders.onnx_calibration import calibration_texts

    tokenize = PairTokenizer(folder, saved_max_length(folder))
    texts = calibration_texts()
    rng = random.Random(seed)
    queries = [" ".join(rng.choice(texts).split()[: rng.randint(1, 3)]) for _ in texts]
    return [tokenize([query], [doc]) for query, doc in zip(queries, texts, strict=True)]


class CrossEncoder:
    """Batched scoring of (query, document) pairs with a saved cross-encoder folder."""

    def __init__(
        self,
        folder: Path,
        *,
        backend: Backend = "torch",
        max_length: int = 64,
        batch_size: int = 64,
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.folder = folder
        self.backend = backend
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._tokenize = PairTokenizer(folder, max_length)
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, **kwargs: Any) -> CrossEncoder:
        """With the max_length saved in `folder/cross_encoder.json` unless given."""
        kwargs.setdefault("max_length", saved_max_length(folder))
        return cls(folder, **kwargs)

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if self.backend == "torch":
                        from aisle.encoders.base import pick_device

                        self.device = pick_device(self.device)
                        self._model = load_torch(self.folder, self.device)
                    else:
                        path = ensure_onnx(self.folder, quantized=self.backend == "onnx-int8")
                        providers = ["CPUExecutionProvider"] if self.device == "cpu" else None
                        self._model = make_session(path, providers=providers, threads=self.threads, spin=False)
        return self._model

    def warm_up(self) -> None:
        self.score(["warm up"], ["warm up"])

    def score(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """One float32 logit per pair (higher: more relevant)."""
        if len(queries) != len(docs):
            raise ValueError(f"{len(queries)} queries but {len(docs)} documents")
        out = np.empty(len(docs), dtype=np.float32)
        if not docs:
            return out
        model = self._load()
        for start in range(0, len(docs), self.batch_size):
            feeds = self._tokenize(queries[start : start + self.batch_size], docs[start : start + self.batch_size])
            out[start : start + len(feeds["input_ids"])] = self._run(model, feeds)
        return out

    def _run(self, model: Any, feeds: dict[str, np.ndarray]) -> np.ndarray:
        if self.backend != "torch":
            return np.asarray(model.run(None, feeds)[0], dtype=np.float32).reshape(-1)
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v).to(self.device) for k, v in feeds.items()}
            return model(**tensors).logits[:, 0].float().cpu().numpy()
