"""Embedded Qdrant engines side by side: qdrant-client's local mode (aisle's default) vs Qdrant Edge.

    pip install -e '.[edge]' && python -m benchmarks.embedded_engines [--queries 200]

Why: every hybrid search on embedded Qdrant pays for qdrant-client's local mode scoring sparse vectors in a
Python loop over every point (issues #4 and #10). Qdrant Edge (`qdrant-edge-py`) is Qdrant's Rust engine
in-process, with a different API. This measures retrieval alone (no encoding), on the same points and the
same query vectors, interleaved query by query: Myntra's products with photos, aisle's BM25 sparse vectors
(IDF modifier) of aisle's sparse text, MiniLM text vectors, and the pipeline's weighted RRF. It also prints
how much the two engines' top 10 agree (ties in BM25 scores are broken differently).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.search import catalogue, percentile

PREFETCH, RRF_K, BATCH = 100, 20, 256


def data(n_queries: int) -> tuple[list[Any], np.ndarray, list[Any], np.ndarray]:
    """Sparse and MiniLM vectors of the products and of the queries that benchmarks.search uses for Myntra."""
    from aisle.encoders.registry import create_encoder
    from aisle.index.schema import dense_text, sparse_text

    products, texts = catalogue("myntra", n_queries)
    sparse, dense = create_encoder("bm25"), create_encoder("minilm")
    doc_sparse = sparse.encode_documents([sparse_text(p) for p in products])
    doc_dense = np.asarray(dense.encode_documents([dense_text(p) for p in products], progress=True))
    return doc_sparse, doc_dense, sparse.encode_queries(texts), np.asarray(dense.encode_queries(texts))


class LocalEngine:
    """qdrant-client's embedded local mode, as aisle uses it."""

    def __init__(self, doc_sparse: Sequence[Any], doc_dense: np.ndarray) -> None:
        from qdrant_client import QdrantClient, models

        from aisle.index.query import qdrant_vector

        self.models = models
        self._vector = qdrant_vector  # aisle's own conversion to qdrant-client's vector types
        self.client = QdrantClient(path=tempfile.mkdtemp(prefix="local-"))
        self.client.create_collection(
            "bench",
            vectors_config={"text": models.VectorParams(size=doc_dense.shape[1], distance=models.Distance.COSINE)},
            sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        for start in range(0, len(doc_dense), BATCH):
            self.client.upsert(
                "bench",
                [
                    models.PointStruct(
                        id=i, vector={"text": qdrant_vector(doc_dense[i]), "bm25": qdrant_vector(doc_sparse[i])}
                    )
                    for i in range(start, min(start + BATCH, len(doc_dense)))
                ],
            )

    def sparse(self, q: Any, _: np.ndarray) -> list[int]:
        return [
            int(p.id)
            for p in self.client.query_points("bench", query=self._vector(q), using="bm25", limit=PREFETCH).points
        ]

    def hybrid(self, q: Any, d: np.ndarray) -> list[int]:
        m = self.models
        prefetch = [
            m.Prefetch(query=self._vector(q), using="bm25", limit=PREFETCH),
            m.Prefetch(query=self._vector(d), using="text", limit=PREFETCH),
        ]
        query = m.RrfQuery(rrf=m.Rrf(k=RRF_K, weights=[1.0, 1.0]))
        return [
            int(p.id) for p in self.client.query_points("bench", prefetch=prefetch, query=query, limit=PREFETCH).points
        ]


class EdgeEngine:
    """Qdrant Edge: the Rust engine in this process."""

    def __init__(self, doc_sparse: Sequence[Any], doc_dense: np.ndarray) -> None:
        import qdrant_edge as qe

        self.qe = qe
        config = qe.EdgeConfig(
            vectors={"text": qe.EdgeVectorParams(size=doc_dense.shape[1], distance=qe.Distance.Cosine)},
            sparse_vectors={"bm25": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        self.shard = qe.EdgeShard.create(tempfile.mkdtemp(prefix="edge-"), config)
        for start in range(0, len(doc_dense), BATCH):
            points = [
                qe.Point(id=i, vector={"text": doc_dense[i].tolist(), "bm25": self._sparse(doc_sparse[i])})
                for i in range(start, min(start + BATCH, len(doc_dense)))
            ]
            self.shard.update(qe.UpdateOperation.upsert_points(points))
        self.shard.optimize()

    def _sparse(self, v: Any) -> Any:
        return self.qe.SparseVector(indices=list(v.indices), values=list(v.values))

    def sparse(self, q: Any, _: np.ndarray) -> list[int]:
        qe = self.qe
        request = qe.QueryRequest(limit=PREFETCH, query=qe.Query.Nearest(self._sparse(q), using="bm25"))
        return [int(p.id) for p in self.shard.query(request)]

    def hybrid(self, q: Any, d: np.ndarray) -> list[int]:
        qe = self.qe
        prefetch = [
            qe.Prefetch(limit=PREFETCH, query=qe.Query.Nearest(self._sparse(q), using="bm25")),
            qe.Prefetch(limit=PREFETCH, query=qe.Query.Nearest(d.tolist(), using="text")),
        ]
        request = qe.QueryRequest(limit=PREFETCH, prefetches=prefetch, query=qe.Fusion.Rrf(k=RRF_K, weights=[1.0, 1.0]))
        return [int(p.id) for p in self.shard.query(request)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    try:
        import qdrant_edge  # noqa: F401
    except ImportError:
        raise SystemExit("needs Qdrant Edge: pip install -e '.[edge]'") from None
    doc_sparse, doc_dense, q_sparse, q_dense = data(args.queries)
    local, edge = LocalEngine(doc_sparse, doc_dense), EdgeEngine(doc_sparse, doc_dense)
    engines: dict[str, Any] = {"local": local, "edge": edge}
    calls: dict[str, Callable[[Any, np.ndarray], list[int]]] = {
        f"{name} {kind}": getattr(engine, kind) for kind in ("sparse", "hybrid") for name, engine in engines.items()
    }
    for call in calls.values():  # warm-up
        call(q_sparse[0], q_dense[0])
    times: dict[str, list[float]] = {name: [] for name in calls}
    tops: dict[str, list[list[int]]] = {name: [] for name in calls}
    for q, d in zip(q_sparse, q_dense, strict=True):  # interleaved, query by query
        for name, call in calls.items():
            started = time.perf_counter()
            tops[name].append(call(q, d))
            times[name].append((time.perf_counter() - started) * 1000)
    print(f"\n{len(doc_dense):,} points, {len(q_sparse)} queries, retrieval only (top {PREFETCH}), ms")
    print(f"{'engine / retrieval':20s} {'p50':>8s} {'p95':>8s} {'p99':>8s}")
    for name, values in times.items():
        print(f"{name:20s} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} {percentile(values, 99):8.2f}")
    for kind in ("sparse", "hybrid"):
        pairs = zip(tops[f"local {kind}"], tops[f"edge {kind}"], strict=True)
        overlap = statistics.mean(len(set(a[:10]) & set(b[:10])) / 10 for a, b in pairs)
        p95 = percentile(times[f"local {kind}"], 95) / percentile(times[f"edge {kind}"], 95)
        print(f"{kind}: edge p95 {p95:.1f}x faster; top-10 agreement {overlap:.3f}")
    local.client.close()  # before interpreter teardown, which its __del__ does not survive


if __name__ == "__main__":
    main()
