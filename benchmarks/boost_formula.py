"""The attribute boost in Python (today) against a Qdrant Edge formula query, on a stored collection.

    python -m benchmarks.boost_formula --collection demo [--queries 200]

When a query names attributes the catalogue knows ("red shirts for men"), the pipeline fetches the fused top
`prefetch_limit` with payloads and multiplies each score by (1 + boost x matched share) in Python. Edge can
do the same inside the engine: a formula query over the fused prefetch, `$score x (1 + boost/n x sum of
matched conditions)`, returning only the top k. This times both on the same encoded queries (retrieval and
boost only, interleaved), and reports how often their top 10 agree.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.search import catalogue, percentile


def formula_query(engine: Any, collection: str, retrievals: Sequence[Any], wanted: dict[str, str], boost: float,
                  *, limit: int, prefetch: int, rrf_k: int) -> list[str]:  # fmt: skip
    """Fused prefetch, boosted by a formula in the engine; product ids best first."""
    import qdrant_edge as qe

    from aisle.index.edge import _vector

    fused = qe.Prefetch(
        limit=prefetch,
        prefetches=[
            qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(_vector(r.vector), using=r.using)) for r in retrievals
        ],
        query=qe.Fusion.Rrf(k=rrf_k, weights=[r.weight for r in retrievals]),
    )
    E = qe.Expression
    matched = [E.Condition(qe.FieldCondition(key=f, match=qe.MatchValue(v))) for f, v in wanted.items()]
    share = E.Mult([E.Constant(boost / len(wanted)), E.Sum(matched)])
    formula = qe.Formula(E.Mult([E.Variable("$score"), E.Sum([E.Constant(1.0), share])]))
    request = qe.QueryRequest(limit=limit, prefetches=[fused], query=formula, with_payload=["product_id"])
    return [str(p.payload["product_id"]) for p in engine._shard(collection).query(request)]


def main(argv: Sequence[str] | None = None) -> None:
    from aisle.config import get_settings
    from aisle.pipeline.request import SearchRequest
    from aisle.pipeline.search import SearchPipeline

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--collection", default="demo")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    settings = get_settings()
    pipeline = SearchPipeline.open(args.collection, settings, ranker=None, personalizer=None)
    pipeline.warm_up()
    _, texts = catalogue("myntra", args.queries)
    engine, name, boost = pipeline.index.engine, pipeline.index.name, settings.attribute_boost
    times: dict[str, list[float]] = {"python": [], "formula": []}
    agree: list[float] = []
    for text in texts:
        understood = pipeline.understanding.parse(text)
        if not understood.attributes:
            continue
        retrievals = pipeline._retrievals(text, SearchRequest(query=text), {})
        started = time.perf_counter()
        points = engine.query(name, retrievals, limit=settings.prefetch_limit, rrf_k=settings.rrf_k,
                              prefetch_limit=settings.prefetch_limit)  # fmt: skip
        python_top = [h["id"] for h in pipeline._hits(points, understood)[:10]]
        times["python"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        formula_top = formula_query(engine, name, retrievals, understood.attributes, boost, limit=10,
                                    prefetch=settings.prefetch_limit, rrf_k=settings.rrf_k)  # fmt: skip
        times["formula"].append((time.perf_counter() - started) * 1000)
        agree.append(len(set(python_top) & set(formula_top)) / 10)
    print(f"{len(agree)} queries with attributes; retrieval + boost, ms")
    for variant, values in times.items():
        print(f"{variant:8s} p50 {percentile(values, 50):6.2f} p95 {percentile(values, 95):6.2f}")
    print(f"top-10 agreement {statistics.mean(agree):.3f}")


if __name__ == "__main__":
    main()
