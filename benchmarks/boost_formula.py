"""The attribute boost in Python (aisle before #22) against the engine's formula query, on a stored collection.

    python -m benchmarks.boost_formula --collection demo [--queries 200]

When a query names attributes the catalogue knows ("red shirts for men"), the pipeline boosts the hits that
match: score x (1 + boost x matched share). Before, it fetched the fused top `prefetch_limit` with payloads
and re-scored them in Python; now the engine does it (`Engine.query(boost=...)`: a formula query over the
fused prefetch) and returns only the top k. This times both on the same encoded queries (retrieval and boost
only, interleaved), and reports how often their top 10 agree (both count matches the same way).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

from benchmarks.search import catalogue, percentile


def main(argv: Sequence[str] | None = None) -> None:
    from aisle.config import get_settings
    from aisle.index.engine import Boost
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
    engine, name, depth = pipeline.index.engine, pipeline.index.name, settings.prefetch_limit
    times: dict[str, list[float]] = {"python": [], "formula": []}
    agree: list[float] = []
    for text in texts:
        understood = pipeline.understanding.parse(text)
        if not understood.attributes:
            continue
        boost = Boost(dict(understood.attributes), settings.attribute_boost)
        retrievals = pipeline._retrievals(text, SearchRequest(query=text), {})
        started = time.perf_counter()
        points = engine.query(name, retrievals, limit=depth, prefetch_limit=depth, rrf_k=settings.rrf_k)
        rescored = sorted(points, key=lambda p: p.score * boost.factor(boost.matched(p.payload)), reverse=True)
        python_top = [p.id for p in rescored[:10]]
        times["python"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        hits = engine.query(name, retrievals, limit=10, prefetch_limit=depth, rrf_k=settings.rrf_k, boost=boost)
        times["formula"].append((time.perf_counter() - started) * 1000)
        agree.append(len(set(python_top) & {h.id for h in hits}) / 10)
    print(f"{len(agree)} queries with attributes; retrieval + boost, ms")
    for variant, values in times.items():
        print(f"{variant:8s} p50 {percentile(values, 50):6.2f} p95 {percentile(values, 95):6.2f}")
    print(f"top-10 agreement {statistics.mean(agree):.3f}")


if __name__ == "__main__":
    main()
