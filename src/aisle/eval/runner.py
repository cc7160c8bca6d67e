"""Runs: ingest a data set's corpus into its own collection, then answer every query with each named
pipeline through the product's own `SearchPipeline`, recording {qid: {product id: score}} and latencies.

Pipelines are a registry (name -> SearchRequest keyword arguments), so later work can add e.g. "+rerank".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aisle.config import Settings, get_settings
from aisle.eval.datasets import EvalDataset, corpus_fingerprint
from aisle.index.engine import Engine

log = logging.getLogger(__name__)
TOP_K = 100


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """A named way to search: the SearchRequest keyword arguments it uses (besides query and top_k)."""

    name: str
    request: Callable[[], dict[str, Any]]
    needs_images: bool = False
    description: str = ""
    ranker: Callable[[Settings], Any] | None = None  # the pipeline's Ranker (None from it: skipped, with why)


PIPELINES: dict[str, PipelineSpec] = {}


def register_pipeline(
    name: str,
    request: Callable[[], dict[str, Any]],
    *,
    needs_images: bool = False,
    description: str = "",
    ranker: Callable[[Settings], Any] | None = None,
) -> PipelineSpec:
    """Add (or replace) a named pipeline."""
    spec = PipelineSpec(name, request, needs_images, description, ranker)
    PIPELINES[name] = spec
    return spec


register_pipeline("bm25", lambda: {"mode": "bm25", "rerank": False}, description="sparse BM25 only")
register_pipeline("dense", lambda: {"mode": "dense", "rerank": False}, description="text embeddings only")
register_pipeline(
    "image", lambda: {"mode": "image", "rerank": False}, needs_images=True, description="CLIP text -> image"
)
register_pipeline(
    "hybrid-rrf", lambda: {"mode": "hybrid", "fusion": "rrf", "rerank": False}, description="weighted RRF"
)
register_pipeline(
    "hybrid-dbsf", lambda: {"mode": "hybrid", "fusion": "dbsf", "rerank": False}, description="Qdrant DBSF"
)


def _trained_ranker(settings: Settings) -> Any:
    from aisle.rerank.relevance import default_ranker

    return default_ranker(settings)


register_pipeline(
    "hybrid+rerank",
    lambda: {"mode": "hybrid", "fusion": "rrf", "rerank": True},
    description="weighted RRF, then the trained relevance ranker (aisle train-ranker)",
    ranker=_trained_ranker,
)
DEFAULT_PIPELINES: tuple[str, ...] = ("bm25", "dense", "image", "hybrid-rrf", "hybrid-dbsf", "hybrid+rerank")


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One pipeline's answers: scores are rank-derived (top_k - rank), so a run keeps the pipeline's own
    order even where fused scores tie."""

    name: str
    run: dict[str, dict[str, float]]
    latency_ms: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvalRuns:
    collection: str
    runs: dict[str, PipelineRun]  # in the order asked for
    skipped: dict[str, str]  # pipeline -> why it was not run
    ingest: dict[str, Any]


def encoder_key(settings: Settings) -> str:
    """A short hash of the encoder settings: a collection built with other encoders gets another name."""
    spec = f"{settings.text_model}|{settings.clip_model or ''}"
    return hashlib.sha1(spec.encode()).hexdigest()[:6]


def collection_name(dataset: EvalDataset, settings: Settings) -> str:
    """`eval-<data set>-<corpus fingerprint[:8]>-<encoders>`: one collection per corpus and encoder set, so runs
    over other queries of the same corpus (another split, another query sample) reuse it."""
    return f"eval-{dataset.name}-{corpus_fingerprint(dataset.corpus)[:8]}-{encoder_key(settings)}"


def ingest_dataset(
    dataset: EvalDataset, settings: Settings, engine: Engine | None = None, progress: bool = True
) -> Any:
    """Embed the corpus into its own collection (unchanged products are skipped, so a re-run is quick)."""
    from aisle.pipeline.ingest import ingest_products

    return ingest_products(
        dataset.corpus, collection_name(dataset, settings), settings=settings, engine=engine, progress=progress
    )


def unknown_pipelines(names: Sequence[str]) -> list[str]:
    return [n for n in names if n not in PIPELINES]


def _answer(pipeline: Any, spec: PipelineSpec, dataset: EvalDataset, top_k: int, progress: bool) -> PipelineRun:
    from tqdm import tqdm

    from aisle.pipeline.request import QueryError, SearchRequest

    kwargs = spec.request()
    with contextlib.suppress(QueryError):  # load models outside the timed loop, with a query not in the data set
        pipeline.search(SearchRequest(query="warm up", top_k=top_k, **kwargs))
    run: dict[str, dict[str, float]] = {}
    latency: dict[str, float] = {}
    errors: dict[str, str] = {}
    for qid, text in tqdm(dataset.queries.items(), desc=spec.name, unit="query", disable=not progress):
        try:
            response = pipeline.search(SearchRequest(query=text, top_k=top_k, **kwargs))
        except QueryError as exc:
            errors[qid] = str(exc)
            run[qid] = {}
            continue
        results = response.results
        run[qid] = {hit["id"]: float(top_k - rank) for rank, hit in enumerate(results)}
        latency[qid] = float(response.timings_ms["total"])
    if errors:
        log.warning(
            "%s: %d queries could not be answered, e.g. %s", spec.name, len(errors), next(iter(errors.values()))
        )
    return PipelineRun(spec.name, run, latency, errors)


def run_pipelines(
    dataset: EvalDataset,
    pipelines: Sequence[str] = DEFAULT_PIPELINES,
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
    top_k: int = TOP_K,
    progress: bool = True,
) -> EvalRuns:
    """Ingest `dataset` (when needed) and run each named pipeline over all its queries."""
    from aisle.index.client import open_engine
    from aisle.index.collection import ProductIndex
    from aisle.pipeline.encoders import EncoderSet
    from aisle.pipeline.search import SearchPipeline

    settings = settings or get_settings()
    unknown = unknown_pipelines(pipelines)
    if unknown:
        raise ValueError(f"unknown pipeline(s) {', '.join(unknown)}; known: {', '.join(PIPELINES)}")
    engine = engine or open_engine(settings)
    summary = ingest_dataset(dataset, settings, engine, progress)
    index = ProductIndex(engine, summary.collection)
    encoders = EncoderSet.build(index.metadata()["encoder_options"], settings.encoder_backend)
    no_images = (
        "the collection has no image vectors (configure a CLIP model: --clip / AISLE_CLIP_MODEL)"
        if encoders.clip_image is None
        else None
        if any(p.image for p in dataset.corpus)
        else "the corpus has no images"
    )
    runs: dict[str, PipelineRun] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(pipelines):
        spec = PIPELINES[name]
        if spec.needs_images and no_images:
            skipped[name] = no_images
            log.warning("skipping pipeline %s: %s", name, skipped[name])
            continue
        ranker = spec.ranker(settings) if spec.ranker else None
        if spec.ranker and ranker is None:
            skipped[name] = "no trained ranker (run `aisle train-ranker`, or set AISLE_RANKER_MODEL to its folder)"
            log.warning("skipping pipeline %s: %s", name, skipped[name])
            continue
        # a fresh pipeline per name: the query-embedding cache must not make a later pipeline look faster
        pipeline = SearchPipeline(index, encoders, settings=settings, ranker=ranker)
        runs[name] = _answer(pipeline, spec, dataset, top_k, progress)
    return EvalRuns(summary.collection, runs, skipped, summary.to_json())
