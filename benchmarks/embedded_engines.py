"""aisle's two engine backends side by side, through `aisle.index`'s Engine protocol.

    python -m benchmarks.embedded_engines [--queries 200]

Qdrant Edge (the embedded default) against the server backend on qdrant-client's local mode (the embedded
engine aisle used before #22, and the tests' stand-in for a Qdrant server). Retrieval alone (no encoding), on
the same points and the same query vectors, interleaved query by query: Myntra's products with photos, aisle's
BM25 sparse vectors (IDF modifier) of aisle's sparse text, MiniLM text vectors, the pipeline's weighted RRF,
and each retriever's own score for the top 10 (what "why this result" and the re-ranker ask for). It also
prints how much the two engines' top 10 agree (ties in BM25 scores are broken differently).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.index.engine import CollectionSpec, Engine, Retrieval, StoredPoint
from benchmarks.search import catalogue, percentile

COLLECTION, PREFETCH, RRF_K, BATCH = "bench", 100, 20, 256


def data(n_queries: int) -> tuple[list[Any], np.ndarray, list[Any], np.ndarray]:
    """Sparse and MiniLM vectors of the products and of the queries that benchmarks.search uses for Myntra."""
    from aisle.encoders.registry import create_encoder
    from aisle.index.schema import dense_text, sparse_text

    products, texts = catalogue("myntra", n_queries)
    sparse, dense = create_encoder("bm25"), create_encoder("minilm")
    doc_sparse = sparse.encode_documents([sparse_text(p) for p in products])
    doc_dense = np.asarray(dense.encode_documents([dense_text(p) for p in products], progress=True))
    return doc_sparse, doc_dense, sparse.encode_queries(texts), np.asarray(dense.encode_queries(texts))


def fill(engine: Engine, doc_sparse: Sequence[Any], doc_dense: np.ndarray) -> float:
    """Create the collection and upsert every point in batches; seconds taken, optimisation included."""
    started = time.perf_counter()
    engine.create(COLLECTION, CollectionSpec(dense={"text": doc_dense.shape[1]}, sparse=("bm25",)))
    for start in range(0, len(doc_dense), BATCH):
        points = [
            StoredPoint(id=str(uuid.UUID(int=i + 1)), vectors={"text": doc_dense[i], "bm25": doc_sparse[i]}, payload={})
            for i in range(start, min(start + BATCH, len(doc_dense)))
        ]
        engine.upsert(COLLECTION, points)
    engine.optimize(COLLECTION)
    return time.perf_counter() - started


def calls(engine: Engine) -> dict[str, Callable[[Any, np.ndarray], list[str]]]:
    """The retrievals the pipeline makes, each answering its top ids."""

    def sparse(q: Any, _: np.ndarray) -> list[str]:
        hits = engine.query(COLLECTION, [Retrieval("bm25", q)], limit=PREFETCH, with_payload=False)
        return [h.id for h in hits]

    def hybrid(q: Any, d: np.ndarray) -> list[str]:
        both = [Retrieval("bm25", q), Retrieval("text", d)]
        hits = engine.query(COLLECTION, both, limit=PREFETCH, prefetch_limit=PREFETCH, rrf_k=RRF_K)
        return [h.id for h in hits]

    def hybrid_scored(q: Any, d: np.ndarray) -> list[str]:
        """Hybrid, then each retriever's own score for the top 10 (the second, narrow request)."""
        top = hybrid(q, d)
        engine.scores(COLLECTION, [Retrieval("bm25", q), Retrieval("text", d)], top[:10])
        return top

    return {"sparse": sparse, "hybrid": hybrid, "hybrid+scores": hybrid_scored}


def main(argv: Sequence[str] | None = None) -> None:
    from qdrant_client import QdrantClient

    from aisle.index.edge import EdgeEngine
    from aisle.index.server import ServerEngine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    doc_sparse, doc_dense, q_sparse, q_dense = data(args.queries)
    engines: dict[str, Engine] = {
        "edge": EdgeEngine(Path(tempfile.mkdtemp(prefix="bench-edge-"))),
        "local-mode": ServerEngine(QdrantClient(path=tempfile.mkdtemp(prefix="bench-local-"))),
    }
    for name, engine in engines.items():
        print(f"{name}: {len(doc_dense):,} points written in {fill(engine, doc_sparse, doc_dense):.1f} s")
    runs = {f"{name} {kind}": call for name, engine in engines.items() for kind, call in calls(engine).items()}
    for call in runs.values():  # warm-up
        call(q_sparse[0], q_dense[0])
    times: dict[str, list[float]] = {name: [] for name in runs}
    tops: dict[str, list[list[str]]] = {name: [] for name in runs}
    for q, d in zip(q_sparse, q_dense, strict=True):  # interleaved, query by query
        for name, call in runs.items():
            started = time.perf_counter()
            tops[name].append(call(q, d))
            times[name].append((time.perf_counter() - started) * 1000)
    print(f"\n{len(doc_dense):,} points, {len(q_sparse)} queries, retrieval only (top {PREFETCH}), ms")
    print(f"{'engine / retrieval':26s} {'p50':>8s} {'p95':>8s} {'p99':>8s}")
    for name, values in times.items():
        print(f"{name:26s} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} {percentile(values, 99):8.2f}")
    for kind in calls(engines["edge"]):
        pairs = zip(tops[f"local-mode {kind}"], tops[f"edge {kind}"], strict=True)
        overlap = statistics.mean(len(set(a[:10]) & set(b[:10])) / 10 for a, b in pairs)
        ratio = percentile(times[f"local-mode {kind}"], 95) / percentile(times[f"edge {kind}"], 95)
        print(f"{kind}: edge p95 {ratio:.1f}x faster; top-10 agreement {overlap:.3f}")
    for engine in engines.values():
        engine.close()  # before interpreter teardown, which local mode's __del__ does not survive


if __name__ == "__main__":
    main()
