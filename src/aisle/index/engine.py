"""What aisle asks of Qdrant, as one Protocol with two backends: Qdrant Edge embedded (`aisle.index.edge`)
and a Qdrant server or cluster through qdrant-client (`aisle.index.server`).

Only `aisle.index` imports `qdrant_edge` or `qdrant_client`; everything else speaks these types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

import numpy as np

from aisle.index.filters import Filter
from aisle.types import SparseVector

Fusion = Literal["rrf", "dbsf"]
VectorValue = np.ndarray | SparseVector


class EngineError(RuntimeError):
    """The engine refused an operation (a collection it cannot open, data it cannot read)."""


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """A collection's vectors: dense ones by name and size (cosine), sparse ones by name (IDF modifier)."""

    dense: Mapping[str, int]
    sparse: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    shard_number: int | None = None  # server/cluster only
    replication_factor: int | None = None
    # int8 scalar quantization of the dense vectors (originals kept to rescore): a quarter of the memory scanned
    quantize: bool = False


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """A point to store: its id (a UUID string), its named vectors and its payload."""

    id: str
    vectors: Mapping[str, VectorValue]
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Retrieval:
    """One retriever's query: a vector against one named vector of the collection."""

    using: str
    vector: VectorValue
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Boost:
    """Scores multiplied by (1 + weight x the share of `matches` a point's payload has), in the engine: a
    field matches when it holds the value, or is a list holding it (Qdrant's MatchValue), never a substring."""

    matches: Mapping[str, str]  # keyword fields (the catalogue's facet values)
    weight: float

    def matched(self, payload: Mapping[str, Any]) -> int:
        """How many of `matches` this payload has (what the engine counts)."""
        count = 0
        for field_name, value in self.matches.items():
            stored = payload.get(field_name)
            count += stored == value or (isinstance(stored, list) and value in stored)
        return count

    def factor(self, matched: int) -> float:
        return 1.0 + self.weight * matched / len(self.matches)


@dataclass(frozen=True, slots=True)
class IndexHit:
    """One scored point, as the engine returned it. Read-only: copy the payload to change it."""

    id: str
    score: float
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class IndexRecord:
    """One stored point by id: its payload and the vectors asked for."""

    id: str
    payload: Mapping[str, Any]
    vectors: Mapping[str, np.ndarray]


class Engine(Protocol):
    """One Qdrant deployment holding aisle's collections. Every call names its collection."""

    kind: str  # "edge" or "server": for messages and benchmark tables

    def exists(self, collection: str) -> bool: ...

    def missing(self, collection: str) -> str:
        """One line: why `collection` cannot be found here, and what to run."""
        ...

    def create(self, collection: str, spec: CollectionSpec) -> None: ...

    def drop(self, collection: str) -> None: ...

    def metadata(self, collection: str) -> dict[str, Any]: ...

    def set_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None: ...

    def index_fields(self, collection: str, fields: Mapping[str, str]) -> None:
        """Payload indexes: field -> keyword | float | integer | bool."""
        ...

    def upsert(self, collection: str, points: Sequence[StoredPoint]) -> None: ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def optimize(self, collection: str) -> None:
        """Build the search indexes for what was written (Edge runs its optimizers; a server does it itself)."""
        ...

    def scroll(self, collection: str, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(point id, payload with only `fields`) for every point."""
        ...

    def count(self, collection: str, where: Filter | None = None) -> int: ...

    def retrieve(self, collection: str, ids: Sequence[str], vectors: Sequence[str] = ()) -> list[IndexRecord]: ...

    def facet(self, collection: str, field: str, where: Filter | None, limit: int) -> list[tuple[Any, int]]: ...

    def query(
        self,
        collection: str,
        retrievals: Sequence[Retrieval],
        *,
        limit: int,
        where: Filter | None = None,
        fusion: Fusion = "rrf",
        prefetch_limit: int = 100,
        rrf_k: int = 60,
        with_payload: bool = True,
        boost: Boost | None = None,
    ) -> list[IndexHit]:
        """Best first. One retriever: a plain query; several: one prefetch each (filter inside), fused. With
        `boost`, the top `prefetch_limit` of that are re-scored by it inside the engine (a formula query)."""
        ...

    def scores(
        self, collection: str, retrievals: Sequence[Retrieval], ids: Sequence[str], where: Filter | None = None
    ) -> list[dict[str, float]]:
        """Each retriever's own score for the given points (one batched request, restricted to those ids)."""
        ...

    def close(self) -> None: ...


def hit_from(point: Any) -> IndexHit:
    """An IndexHit from either client's scored point (both have id, score and payload)."""
    return IndexHit(id=str(point.id), score=float(point.score), payload=MappingProxyType(dict(point.payload or {})))


def record_from(point: Any) -> IndexRecord:
    """An IndexRecord from either client's stored point (both have id, payload and named vectors)."""
    return IndexRecord(
        id=str(point.id),
        payload=MappingProxyType(dict(point.payload or {})),
        vectors={n: np.asarray(v, dtype=np.float32) for n, v in dict(point.vector or {}).items()},
    )


def usable(retrievals: Sequence[Retrieval]) -> list[Retrieval]:
    """The retrievals worth sending: an empty sparse vector (a query of unknown words) matches nothing."""
    return [r for r in retrievals if not (isinstance(r.vector, SparseVector) and not r.vector.indices)]


def spread(
    retrievals: Sequence[Retrieval], chosen: Sequence[Retrieval], answers: Sequence[dict[str, float]]
) -> list[dict[str, float]]:
    """Answers for the `chosen` retrievals, placed back among all of them (the others scored nothing)."""
    by_identity = {id(r): answer for r, answer in zip(chosen, answers, strict=True)}
    return [by_identity.get(id(r), {}) for r in retrievals]
