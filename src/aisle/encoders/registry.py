"""Encoders by name: `create_encoder(name, **options)`; new kinds join with `register_encoder`.

Built in:
  minilm                  the packaged all-MiniLM-L6-v2 (text; backend=torch|onnx|onnx-int8)
  sentence-transformers   any local sentence-transformers folder (text; model=PATH, backend=...)
  clip-image, clip-text   the two towers of an open_clip model (spec='ARCH:CKPT' or a local-dir folder)
  bm25                    BM25 sparse vectors (avg_doc_len=...)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aisle.encoders.base import EncoderError, ImageEncoder, SparseEncoder, TextEncoder

Encoder = TextEncoder | ImageEncoder | SparseEncoder
_REGISTRY: dict[str, Callable[..., Encoder]] = {}
BACKENDS = ("torch", "onnx", "onnx-int8")


def register_encoder(name: str, factory: Callable[..., Encoder]) -> None:
    _REGISTRY[name] = factory


def encoder_names() -> list[str]:
    return sorted(_REGISTRY)


def create_encoder(name: str, **options: Any) -> Encoder:
    """Build the encoder registered as `name`. Cheap: weights load on first use or `warm_up()`."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise EncoderError(f"unknown encoder {name!r}; known: {', '.join(encoder_names())}") from None
    return factory(**options)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise EncoderError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")


def _text(model: str = "minilm", backend: str = "torch", **options: Any) -> TextEncoder:
    _check_backend(backend)
    return _shared_text(str(model), backend, tuple(sorted(options.items())))


@lru_cache(maxsize=8)
def _shared_text(model: str, backend: str, option_items: tuple[tuple[str, Any], ...]) -> TextEncoder:
    """One encoder (one loaded model) per configuration: encoders are stateless once loaded."""
    options = dict(option_items)
    if backend == "torch":
        from aisle.encoders.text import SentenceTransformerEncoder

        return SentenceTransformerEncoder(model, **options)
    from aisle.encoders.onnx_text import OnnxTextEncoder

    return OnnxTextEncoder(model, quantized=backend == "onnx-int8", **options)


@lru_cache(maxsize=8)
def _clip_model(spec: str, device: str | None, batch_size: int) -> Any:
    """One loaded model per spec, so the image and text towers share their weights."""
    from aisle.encoders.clip import ClipModel, ClipSpec

    return ClipModel(ClipSpec.parse(spec), device=device, batch_size=batch_size)


def _clip(tower: str) -> Callable[..., Encoder]:
    def factory(
        spec: str, backend: str = "torch", device: str | None = None, batch_size: int = 64, name: str = "clip"
    ) -> Encoder:
        _check_backend(backend)
        if backend == "torch":
            from aisle.encoders.clip import ClipImageEncoder, ClipTextEncoder

            clip = _clip_model(spec, device, batch_size)
            return ClipImageEncoder(clip, name) if tower == "image" else ClipTextEncoder(clip, name)
        from aisle.encoders.onnx_clip import OnnxClipImageEncoder, OnnxClipTextEncoder

        cls = OnnxClipImageEncoder if tower == "image" else OnnxClipTextEncoder
        return cls(spec, quantized=backend == "onnx-int8", batch_size=batch_size, name=name)

    return factory


def _bm25(**options: Any) -> SparseEncoder:
    from aisle.encoders.sparse import Bm25SparseEncoder

    return Bm25SparseEncoder(**options)


register_encoder("minilm", lambda backend="torch", **o: _text("minilm", backend, **o))
register_encoder("sentence-transformers", _text)
register_encoder("clip-image", _clip("image"))
register_encoder("clip-text", _clip("text"))
register_encoder("bm25", _bm25)
