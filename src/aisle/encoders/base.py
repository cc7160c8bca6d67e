"""The encoder seams: one Protocol per kind, and the metadata every encoder carries.

`EncoderInfo.space` names the embedding space (model + weights), not the backend: the PyTorch and ONNX
backends of one model share a space, so an index built with one can be queried with the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from aisle.types import SparseVector

Distance = Literal["cosine", "dot", "euclid"]
Vectors = NDArray[np.float32]
ImageInput = Path | str | Any  # a file path or a PIL image


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    name: str  # registry name, e.g. "minilm"
    kind: Literal["text", "image", "sparse"]
    dim: int  # 0 for sparse encoders
    distance: Distance
    normalised: bool
    backend: str  # torch, onnx, onnx-int8, python
    space: str  # what vectors are comparable with: model id + weights fingerprint

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def compatible_with(self, stored: dict[str, Any]) -> bool:
        """True when vectors from this encoder may be mixed with those recorded as `stored`."""
        return all(stored.get(k) == getattr(self, k) for k in ("kind", "dim", "distance", "space"))


@runtime_checkable
class TextEncoder(Protocol):
    info: EncoderInfo

    def encode_queries(self, texts: Sequence[str]) -> Vectors: ...

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors: ...

    def warm_up(self) -> None: ...


@runtime_checkable
class ImageEncoder(Protocol):
    info: EncoderInfo

    def encode_images(self, images: Sequence[ImageInput], *, progress: bool = False) -> Vectors: ...

    def warm_up(self) -> None: ...


@runtime_checkable
class SparseEncoder(Protocol):
    info: EncoderInfo

    def encode_queries(self, texts: Sequence[str]) -> list[SparseVector]: ...

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> list[SparseVector]: ...

    def warm_up(self) -> None: ...


class EncoderError(Exception):
    """An encoder that cannot be built or an input it cannot encode; the message says which and why."""


def empty_vectors(dim: int) -> Vectors:
    return np.zeros((0, dim), dtype=np.float32)


def l2_normalise(vectors: NDArray[Any]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def pick_device(requested: str | None = None) -> str:
    """`requested` if given, else CUDA when a GPU is present, else CPU."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
