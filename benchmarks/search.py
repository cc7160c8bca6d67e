"""Search latency per stage and end to end (p50/p95/p99, after warm-up), per mode, on real catalogues.

    python -m benchmarks.search [--datasets crowdflower myntra] [--queries 200] [--clip SPEC] [--backend onnx-int8]
                                [--engines edge local-mode] [--modes bm25 dense image hybrid]

Each catalogue is ingested once into its own collection (`bench-<name>`; re-runs skip unchanged products).
`--engines edge local-mode` also ingests it into the server backend on qdrant-client's local mode (on disk, in
a temporary folder: the embedded engine before #22) and times both pipelines side by side.
Myntra uses the 9,583 products with photos; CrowdFlower all its products. Modes run interleaved, query by
query, so that machine noise hits them alike. The query embedding cache is cleared before every query, so
every search pays for its encoding.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from typing import Any

from aisle.config import Settings, get_settings
from benchmarks._common import shared_data_or_exit

MODES = ("bm25", "dense", "image", "hybrid")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def catalogue(name: str, queries: int) -> tuple[list[Any], list[str]]:
    from aisle.catalog import load_catalog
    from aisle.catalog.loaders.crowdflower import load_crowdflower_judgments

    data = shared_data_or_exit()
    if name == "crowdflower":
        products = load_catalog(f"crowdflower:{data / 'crowdflower'}").products
        texts = list(dict.fromkeys(j.query for j in load_crowdflower_judgments(data / "crowdflower")))
    else:
        products = [p for p in load_catalog(f"myntra:{data / 'myntra'}").products if p.image]
        # realistic shopper phrasing from the catalogue's own attributes, deterministic
        texts = list(
            dict.fromkeys(
                " ".join((a.get("colour", ""), a.get("article_type", ""), "for", a.get("gender", ""))).lower()
                for a in (p.attributes for p in products[::7])
            )
        )
    return products, texts[:queries]


def engine_for(kind: str, settings: Settings) -> Any:
    """The product's engine (`edge`: AISLE_HOME's), or the server backend on local mode in a temporary folder."""
    if kind == "edge":
        from aisle.index.client import open_engine

        return open_engine(settings)
    from qdrant_client import QdrantClient

    from aisle.index.server import ServerEngine

    return ServerEngine(QdrantClient(path=tempfile.mkdtemp(prefix="bench-local-mode-")))


def bench(name: str, settings: Settings, queries: int, engines: Sequence[str], modes: Sequence[str]) -> None:
    from aisle.index.collection import ProductIndex
    from aisle.pipeline.ingest import ingest_products
    from aisle.pipeline.request import SearchRequest
    from aisle.pipeline.search import SearchPipeline

    products, texts = catalogue(name, queries)
    if not any(p.image for p in products):
        settings = settings.model_copy(update={"clip_model": None})  # no photos: no image vectors
    collection = f"bench-{name}"
    pipelines: dict[str, SearchPipeline] = {}
    for kind in engines:
        engine = engine_for(kind, settings)
        summary = ingest_products(products, collection, settings=settings, engine=engine)
        done = f"{summary.points:,} points ({summary.embedded:,} embedded now)"
        print(f"\n{name} on {kind}: {done}, {len(texts)} queries")
        if not pipelines:
            pipelines[kind] = SearchPipeline.open(collection, settings, engine=engine)
        else:  # one set of encoders for all: two sets' thread pools would compete and blur the engines' difference
            first = next(iter(pipelines.values()))
            index = ProductIndex(engine, collection)
            pipelines[kind] = SearchPipeline(index, first.encoders, settings=settings, ranker=first.ranker)
        pipelines[kind].warm_up()
    first = next(iter(pipelines.values()))
    modes = [m for m in modes if m != "image" or first.encoders.clip_image is not None]
    runs = [(kind, mode) for mode in modes for kind in pipelines]
    stages: dict[tuple[str, str], dict[str, list[float]]] = {run: {} for run in runs}
    for text in texts:
        for kind, mode in runs:  # interleaved, query by query
            pipeline = pipelines[kind]
            pipeline._cache._items.clear()
            response = pipeline.search(SearchRequest(query=text, mode=mode, top_k=10))
            for stage, ms in response.timings_ms.items():
                stages[(kind, mode)].setdefault(stage, []).append(ms)
    print(f"{'engine':<11} {'mode':<8} {'stage':<18} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, mode in runs:
        for stage, values in sorted(stages[(kind, mode)].items(), key=lambda kv: kv[0] == "total"):
            print(
                f"{kind:<11} {mode:<8} {stage:<18} {statistics.median(values):>8.1f} {percentile(values, 95):>8.1f} "
                f"{percentile(values, 99):>8.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["crowdflower", "myntra"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clip", default=None, help="open_clip spec for the image vectors (Myntra)")
    parser.add_argument("--backend", default=None, help="encoder backend: torch, onnx or onnx-int8")
    parser.add_argument("--engines", nargs="+", choices=["edge", "local-mode"], default=["edge"])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    settings = get_settings()
    updates: dict[str, Any] = {}
    if args.clip:
        updates["clip_model"] = args.clip
    if args.backend:
        updates["encoder_backend"] = args.backend
    settings = settings.model_copy(update=updates)
    for name in args.datasets:
        bench(name, settings, args.queries, args.engines, args.modes)


if __name__ == "__main__":
    main()
