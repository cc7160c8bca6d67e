"""The server/cluster engine: a Qdrant server through qdrant-client (AISLE_QDRANT_URL).

qdrant-client's local mode speaks the same client API in-process; aisle's tests run this backend on it,
since no Qdrant server can be installed on the build machine. It is not an engine to serve with: it scores
sparse vectors in a Python loop over every point.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from aisle.index.engine import (
    Boost,
    CollectionSpec,
    Fusion,
    IndexHit,
    IndexRecord,
    Retrieval,
    StoredPoint,
    VectorValue,
    hit_from,
    record_from,
    spread,
    usable,
)
from aisle.index.filters import Filter, Match
from aisle.types import SparseVector

_SCROLL_BATCH = 2048


def _vector(value: VectorValue) -> Any:
    from qdrant_client import models

    if isinstance(value, SparseVector):
        return models.SparseVector(indices=list(value.indices), values=list(value.values))
    return np.asarray(value, dtype=np.float32).tolist()


def client_filter(where: Filter | None, ids: Sequence[str] = ()) -> Any:
    """qdrant-client's Filter for aisle's (and, when given, only these point ids)."""
    from qdrant_client import models

    must: list[Any] = []
    for condition in where.conditions if where is not None else ():
        if isinstance(condition, Match):
            values = condition.values
            match: Any = (
                models.MatchValue(value=values[0])
                if len(values) == 1
                else models.MatchAny(any=[str(v) for v in values])
            )
            must.append(models.FieldCondition(key=condition.field, match=match))
        else:
            span = models.Range(gte=condition.low, lte=condition.high)
            must.append(models.FieldCondition(key=condition.field, range=span))
    if ids:
        must.append(models.HasIdCondition(has_id=list(ids)))
    return models.Filter(must=must) if must else None


def _formula(boost: Boost) -> Any:
    """$score x (1 + weight/n x the number of matched conditions)."""
    from qdrant_client import models

    matched: list[Any] = [
        models.FieldCondition(key=f, match=models.MatchValue(value=v)) for f, v in boost.matches.items()
    ]
    share = models.MultExpression(mult=[boost.weight / len(boost.matches), models.SumExpression(sum=matched)])
    return models.MultExpression(mult=["$score", models.SumExpression(sum=[1.0, share])])


class ServerEngine:
    """A QdrantClient: a server or cluster, or (tests only) qdrant-client's local mode."""

    kind = "server"

    def __init__(self, client: Any, *, where: str = "qdrant-client local mode") -> None:
        self.client = client
        self.where = where

    def exists(self, collection: str) -> bool:
        return bool(self.client.collection_exists(collection))

    def missing(self, collection: str) -> str:
        return f"no collection {collection!r} on {self.where}; run `aisle ingest SOURCE --collection {collection}`"

    def create(self, collection: str, spec: CollectionSpec) -> None:
        from qdrant_client import models

        self.client.create_collection(
            collection,
            vectors_config={
                name: models.VectorParams(size=dim, distance=models.Distance.COSINE) for name, dim in spec.dense.items()
            },
            sparse_vectors_config={
                name: models.SparseVectorParams(modifier=models.Modifier.IDF) for name in spec.sparse
            },
            shard_number=spec.shard_number,
            replication_factor=spec.replication_factor,
            quantization_config=(
                models.ScalarQuantization(
                    scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
                )
                if spec.quantize
                else None
            ),
            metadata=dict(spec.metadata),
        )

    def drop(self, collection: str) -> None:
        self.client.delete_collection(collection)

    def metadata(self, collection: str) -> dict[str, Any]:
        return dict(self.client.get_collection(collection).config.metadata or {})

    def set_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        self.client.update_collection(collection, metadata=dict(metadata))

    def index_fields(self, collection: str, fields: Mapping[str, str]) -> None:
        from qdrant_client import models

        kinds = {
            "keyword": models.PayloadSchemaType.KEYWORD,
            "float": models.PayloadSchemaType.FLOAT,
            "bool": models.PayloadSchemaType.BOOL,
            "integer": models.PayloadSchemaType.INTEGER,
        }
        with warnings.catch_warnings():  # local mode warns that it ignores them; a server uses them
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for field, kind in fields.items():
                self.client.create_payload_index(collection, field, field_schema=kinds[kind])

    def upsert(self, collection: str, points: Sequence[StoredPoint]) -> None:
        from qdrant_client import models

        if points:
            structs = [
                models.PointStruct(
                    id=p.id, vector={n: _vector(v) for n, v in p.vectors.items()}, payload=dict(p.payload)
                )
                for p in points
            ]
            self.client.upsert(collection, points=structs, wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        from qdrant_client import models

        if ids:
            self.client.delete(collection, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def optimize(self, collection: str) -> None:
        """A server optimises in the background; nothing to do."""

    def scroll(self, collection: str, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = None
        while True:
            points, offset = self.client.scroll(
                collection, limit=_SCROLL_BATCH, offset=offset, with_payload=list(fields), with_vectors=False
            )
            for point in points:
                yield str(point.id), dict(point.payload or {})
            if offset is None:
                return

    def count(self, collection: str, where: Filter | None = None) -> int:
        return int(self.client.count(collection, count_filter=client_filter(where), exact=True).count)

    def retrieve(self, collection: str, ids: Sequence[str], vectors: Sequence[str] = ()) -> list[IndexRecord]:
        if not ids:
            return []
        points = self.client.retrieve(
            collection, ids=list(ids), with_payload=True, with_vectors=list(vectors) if vectors else False
        )
        return [record_from(p) for p in points]

    def facet(self, collection: str, field: str, where: Filter | None, limit: int) -> list[tuple[Any, int]]:
        response = self.client.facet(collection, key=field, facet_filter=client_filter(where), limit=limit, exact=True)
        return [(hit.value, int(hit.count)) for hit in response.hits]

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
        from qdrant_client import models

        chosen = usable(retrievals)
        if not chosen:
            return []
        flt = client_filter(where)
        if len(chosen) == 1:
            only = chosen[0]
            inner = models.Prefetch(query=_vector(only.vector), using=only.using, filter=flt, limit=prefetch_limit)
        else:
            each = [
                models.Prefetch(query=_vector(r.vector), using=r.using, filter=flt, limit=prefetch_limit)
                for r in chosen
            ]
            if fusion == "rrf":
                fused: Any = models.RrfQuery(rrf=models.Rrf(k=rrf_k, weights=[r.weight for r in chosen]))
            else:
                fused = models.FusionQuery(fusion=models.Fusion.DBSF)
            inner = models.Prefetch(prefetch=each, query=fused, limit=prefetch_limit)
        if boost is not None:
            formula = models.FormulaQuery(formula=_formula(boost))
            response = self.client.query_points(
                collection, prefetch=[inner], query=formula, limit=limit, with_payload=with_payload
            )
        elif len(chosen) == 1:
            response = self.client.query_points(
                collection, query=inner.query, using=inner.using, query_filter=flt, limit=limit,
                with_payload=with_payload,
            )  # fmt: skip
        else:
            response = self.client.query_points(
                collection, prefetch=inner.prefetch, query=inner.query, limit=limit, with_payload=with_payload
            )
        return [hit_from(p) for p in response.points]

    def scores(
        self, collection: str, retrievals: Sequence[Retrieval], ids: Sequence[str], where: Filter | None = None
    ) -> list[dict[str, float]]:
        from qdrant_client import models

        chosen = usable(retrievals)
        if not ids or not chosen:
            return [{} for _ in retrievals]
        only = client_filter(where, ids)
        requests = [
            models.QueryRequest(query=_vector(r.vector), using=r.using, filter=only, limit=len(ids), with_payload=False)
            for r in chosen
        ]
        answers = self.client.query_batch_points(collection, requests=requests)
        return spread(retrievals, chosen, [{str(p.id): float(p.score) for p in answer.points} for answer in answers])

    def close(self) -> None:
        self.client.close()
