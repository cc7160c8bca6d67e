"""The embedded engine: Qdrant Edge (Qdrant's Rust engine in this process), one shard per collection.

Layout under the root folder: `<collection>/` is the shard, `<collection>/aisle-collection.json` its
metadata (Edge shards carry none). One process owns the root (`aisle.index.owner`); Edge itself also
refuses a second opening of a shard's write-ahead log.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.files import private_dir
from aisle.index.engine import (
    Boost,
    CollectionSpec,
    EngineError,
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

META_FILE = "aisle-collection.json"
_SCROLL_BATCH = 2048


def _vector(value: VectorValue) -> Any:
    import qdrant_edge as qe

    if isinstance(value, SparseVector):
        return qe.SparseVector(indices=list(value.indices), values=list(value.values))
    return np.asarray(value, dtype=np.float32).tolist()


def _condition(condition: Any) -> Any:
    import qdrant_edge as qe

    if isinstance(condition, Match):
        values = condition.values
        if len(values) == 1:
            # qdrant-edge-py 0.9.0 reads a Python bool as an integer (bool subclasses int), which matches no
            # stored bool; numpy's bool is not an int and arrives as a bool (tests/index/test_congruence.py)
            value: Any = np.bool_(values[0]) if isinstance(values[0], bool) else values[0]
            return qe.FieldCondition(key=condition.field, match=qe.MatchValue(value))
        return qe.FieldCondition(key=condition.field, match=qe.MatchAny(any=[str(v) for v in values]))
    return qe.FieldCondition(key=condition.field, range=qe.RangeFloat(gte=condition.low, lte=condition.high))


def _formula(boost: Boost) -> Any:
    """$score x (1 + weight/n x the number of matched conditions)."""
    import qdrant_edge as qe

    expr = qe.Expression
    matched = [expr.Condition(_condition(Match(f, (v,)))) for f, v in boost.matches.items()]
    share = expr.Mult([expr.Constant(boost.weight / len(boost.matches)), expr.Sum(matched)])
    return expr.Mult([expr.Variable("$score"), expr.Sum([expr.Constant(1.0), share])])


def edge_filter(where: Filter | None, ids: Sequence[str] = ()) -> Any:
    """Edge's Filter for aisle's (and, when given, only these point ids)."""
    import qdrant_edge as qe

    must = [_condition(c) for c in where.conditions] if where is not None else []
    if ids:
        must.append(qe.HasIdCondition(point_ids={uuid.UUID(i) for i in ids}))
    return qe.Filter(must=must) if must else None


class EdgeEngine:
    """Qdrant Edge shards under one folder."""

    kind = "edge"

    def __init__(self, root: Path, *, legacy_root: Path | None = None) -> None:
        self.root = root
        self.legacy_root = legacy_root  # where aisle's old engine (qdrant-client local mode) kept collections
        self._shards: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- collections -----------------------------------------------------------------------------------------
    def _dir(self, collection: str) -> Path:
        if not collection or "/" in collection or collection.startswith("."):
            raise EngineError(f"not a collection name: {collection!r}")
        return self.root / collection

    def exists(self, collection: str) -> bool:
        return (self._dir(collection) / META_FILE).is_file()

    def missing(self, collection: str) -> str:
        old = self.legacy_root / "collection" / collection if self.legacy_root is not None else None
        if old is not None and old.is_dir():
            return (
                f"collection {collection!r} was built by aisle's old embedded engine ({old}) and must be rebuilt "
                f"for Qdrant Edge: run `aisle ingest SOURCE --collection {collection} --rebuild` (or `aisle demo` "
                "for the demo catalogue); the old folder is left as it is"
            )
        return f"no collection {collection!r}; run `aisle ingest SOURCE --collection {collection}`"

    def _shard(self, collection: str) -> Any:
        import qdrant_edge as qe

        with self._lock:
            shard = self._shards.get(collection)
            if shard is None:
                if not self.exists(collection):
                    raise EngineError(self.missing(collection))
                try:
                    shard = qe.EdgeShard.load(str(self._dir(collection)))
                except Exception as exc:  # Edge reports every failure to open as a plain Exception
                    raise EngineError(f"cannot open collection {collection!r}: {exc}") from None
                self._shards[collection] = shard
            return shard

    def create(self, collection: str, spec: CollectionSpec) -> None:
        import qdrant_edge as qe

        folder = self._dir(collection)
        private_dir(self.root)
        quantized = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, always_ram=True)
        config = qe.EdgeConfig(
            vectors={
                n: qe.EdgeVectorParams(
                    size=d, distance=qe.Distance.Cosine, quantization_config=quantized if spec.quantize else None
                )
                for n, d in spec.dense.items()
            },
            sparse_vectors={n: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for n in spec.sparse},
        )
        with self._lock:
            self._shards[collection] = qe.EdgeShard.create(str(folder), config)
        self.set_metadata(collection, spec.metadata)  # written last: a shard without it is not a collection

    def drop(self, collection: str) -> None:
        with self._lock:
            shard = self._shards.pop(collection, None)
            if shard is not None:
                shard.close()
        shutil.rmtree(self._dir(collection), ignore_errors=True)

    def metadata(self, collection: str) -> dict[str, Any]:
        path = self._dir(collection) / META_FILE
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise EngineError(self.missing(collection)) from None

    def set_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        path = self._dir(collection) / META_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(dict(metadata), sort_keys=True))
        partial.replace(path)

    def index_fields(self, collection: str, fields: Mapping[str, str]) -> None:
        import qdrant_edge as qe

        kinds = {
            "keyword": qe.PayloadSchemaType.Keyword,
            "float": qe.PayloadSchemaType.Float,
            "integer": qe.PayloadSchemaType.Integer,
            "bool": qe.PayloadSchemaType.Bool,
        }
        shard = self._shard(collection)
        for field, kind in fields.items():
            shard.update(qe.UpdateOperation.create_field_index(field, kinds[kind]))

    # -- points ----------------------------------------------------------------------------------------------
    def upsert(self, collection: str, points: Sequence[StoredPoint]) -> None:
        import qdrant_edge as qe

        if points:
            edge_points = [
                qe.Point(id=p.id, vector={n: _vector(v) for n, v in p.vectors.items()}, payload=dict(p.payload))
                for p in points
            ]
            self._shard(collection).update(qe.UpdateOperation.upsert_points(edge_points))

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        import qdrant_edge as qe

        if ids:
            self._shard(collection).update(qe.UpdateOperation.delete_points([uuid.UUID(i) for i in ids]))

    def optimize(self, collection: str) -> None:
        shard = self._shard(collection)
        shard.optimize()
        shard.flush()

    def scroll(self, collection: str, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        import qdrant_edge as qe

        shard, offset = self._shard(collection), None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=_SCROLL_BATCH, with_payload=list(fields))
            records, offset = shard.scroll(request)
            for record in records:
                yield str(record.id), dict(record.payload or {})
            if offset is None:
                return

    def count(self, collection: str, where: Filter | None = None) -> int:
        import qdrant_edge as qe

        return int(self._shard(collection).count(qe.CountRequest(exact=True, filter=edge_filter(where))))

    def retrieve(self, collection: str, ids: Sequence[str], vectors: Sequence[str] = ()) -> list[IndexRecord]:
        if not ids:
            return []
        records = self._shard(collection).retrieve(
            [uuid.UUID(i) for i in ids], with_payload=True, with_vector=list(vectors) if vectors else False
        )
        return [record_from(r) for r in records]

    def facet(self, collection: str, field: str, where: Filter | None, limit: int) -> list[tuple[Any, int]]:
        import qdrant_edge as qe

        request = qe.FacetRequest(key=field, limit=limit, exact=True, filter=edge_filter(where))
        return [(hit.value, int(hit.count)) for hit in self._shard(collection).facet(request).hits]

    # -- search ----------------------------------------------------------------------------------------------
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
        import qdrant_edge as qe

        chosen = usable(retrievals)
        if not chosen:
            return []
        flt = edge_filter(where)
        nearest = [qe.Query.Nearest(_vector(r.vector), using=r.using) for r in chosen]
        if len(chosen) == 1:
            inner = qe.Prefetch(limit=prefetch_limit, query=nearest[0], filter=flt)
        else:
            fused: Any = (
                qe.Fusion.Rrf(k=rrf_k, weights=[r.weight for r in chosen]) if fusion == "rrf" else qe.Fusion.Dbsf()
            )
            each = [qe.Prefetch(limit=prefetch_limit, query=q, filter=flt) for q in nearest]
            inner = qe.Prefetch(limit=prefetch_limit, prefetches=each, query=fused)
        if boost is not None:
            query: Any = qe.Formula(_formula(boost))
            request = qe.QueryRequest(limit=limit, prefetches=[inner], query=query, with_payload=with_payload)
        elif len(chosen) == 1:
            request = qe.QueryRequest(limit=limit, query=nearest[0], filter=flt, with_payload=with_payload)
        else:
            request = qe.QueryRequest(
                limit=limit, prefetches=inner.prefetches, query=inner.query, with_payload=with_payload
            )
        return [hit_from(p) for p in self._shard(collection).query(request)]

    def scores(
        self, collection: str, retrievals: Sequence[Retrieval], ids: Sequence[str], where: Filter | None = None
    ) -> list[dict[str, float]]:
        import qdrant_edge as qe

        chosen = usable(retrievals)
        if not ids or not chosen:
            return [{} for _ in retrievals]
        only = edge_filter(where, ids)
        requests = [
            qe.QueryRequest(limit=len(ids), query=qe.Query.Nearest(_vector(r.vector), using=r.using), filter=only)
            for r in chosen
        ]
        answers = self._shard(collection).query_batch(qe.QueryBatchRequest(queries=requests))
        return spread(retrievals, chosen, [{str(p.id): float(p.score) for p in answer} for answer in answers])

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()
