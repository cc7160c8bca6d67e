"""Filters and the hybrid query: one prefetch per retriever (filters inside each), fused by Qdrant (RRF or DBSF)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from aisle.types import SparseVector

Fusion = Literal["rrf", "dbsf"]
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class FilterError(ValueError):
    """A filter naming a field the collection does not have, or a value of the wrong kind."""


@dataclass(frozen=True, slots=True)
class Retrieval:
    """One retriever's query: a vector against one named vector of the collection."""

    using: str
    vector: np.ndarray | SparseVector
    weight: float = 1.0


def _range(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, tuple):
        return value
    text = str(value)
    if ".." in text:
        low, _, high = text.partition("..")
        return (float(low) if low else None, float(high) if high else None)
    number = float(text)
    return (number, number)


def build_filter(filters: Mapping[str, Any], fields: Mapping[str, str]) -> Any:
    """A Qdrant Filter from {field: value}: lists match any value, numbers take 'LOW..HIGH' or (low, high)."""
    from qdrant_client import models

    must: list[Any] = []
    for field, value in filters.items():
        kind = fields.get(field)
        if kind is None:
            raise FilterError(
                f"unknown filter field {field!r}; this collection filters on: {', '.join(sorted(fields))}"
            )
        try:
            if kind == "float" or kind == "integer":
                low, high = _range(value)
                must.append(models.FieldCondition(key=field, range=models.Range(gte=low, lte=high)))
            elif kind == "bool":
                text = str(value).lower()
                if text not in _TRUE | _FALSE:
                    raise ValueError(f"expected true or false, got {value!r}")
                must.append(models.FieldCondition(key=field, match=models.MatchValue(value=text in _TRUE)))
            elif isinstance(value, list | tuple | set):
                must.append(models.FieldCondition(key=field, match=models.MatchAny(any=[str(v) for v in value])))
            else:
                must.append(models.FieldCondition(key=field, match=models.MatchValue(value=str(value))))
        except ValueError as exc:
            raise FilterError(f"bad value for filter {field!r}: {exc}") from None
    return models.Filter(must=must) if must else None


def qdrant_vector(vector: np.ndarray | SparseVector) -> Any:
    """aisle's dense or sparse vector as qdrant-client takes it, in queries and in stored points alike."""
    from qdrant_client import models

    if isinstance(vector, SparseVector):
        return models.SparseVector(indices=list(vector.indices), values=list(vector.values))
    return vector.tolist()


def hybrid_search(
    client: Any,
    collection: str,
    retrievals: Sequence[Retrieval],
    *,
    limit: int,
    query_filter: Any = None,
    fusion: Fusion = "rrf",
    prefetch_limit: int = 100,
    rrf_k: int = 60,
    with_payload: bool = True,
) -> list[Any]:
    """Scored points, best first. One retriever: a plain query; several: prefetch + server-side fusion."""
    from qdrant_client import models

    usable = [r for r in retrievals if not (isinstance(r.vector, SparseVector) and not r.vector.indices)]
    if not usable:
        return []
    if len(usable) == 1:
        only = usable[0]
        return list(
            client.query_points(
                collection,
                query=qdrant_vector(only.vector),
                using=only.using,
                query_filter=query_filter,
                limit=limit,
                with_payload=with_payload,
            ).points
        )
    prefetch = [
        models.Prefetch(query=qdrant_vector(r.vector), using=r.using, filter=query_filter, limit=prefetch_limit)
        for r in usable
    ]
    if fusion == "rrf":
        query: Any = models.RrfQuery(rrf=models.Rrf(k=rrf_k, weights=[r.weight for r in usable]))
    else:
        query = models.FusionQuery(fusion=models.Fusion.DBSF)
    return list(
        client.query_points(collection, prefetch=prefetch, query=query, limit=limit, with_payload=with_payload).points
    )


def rrf_scores(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = 60
) -> dict[str, float]:
    """Qdrant's weighted reciprocal-rank fusion of ranked id lists (rank 1 = best): sum of
    1 / (rank / w + k - 1). With w = 1 that is the classic 1 / (k' + rank) with k' = k - 1."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if weight <= 0:
            continue
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (rank / weight + k - 1.0)
    return scores
