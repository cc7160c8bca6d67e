"""`aisle eval personal-search`: does a shopper's history make search better for them, and never worse?

Simulated shoppers (`aisle.eval.shoppers`) on the Myntra catalogue's eval collection: their histories go into
a private, temporary event store; each query is answered anonymously and personalised through the same
SearchPipeline. The blend (how much history moves the ranking, per history length and query specificity) is
learnt on the dev shoppers by grid search over the personal step's own signals, then the test shoppers are
measured: nDCG@10 per query kind and history length, with bootstrap CIs and paired t-tests (ranx).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.eval.shoppers import Shopper, ShopperQuery, history_events, now_utc, simulate
from aisle.personal.blend import DEFAULT_TABLE, HISTORY_BUCKETS, QUERY_KINDS, BlendTable, BlendWeights, query_kind
from aisle.personal.events import EventStore
from aisle.personal.personalizer import Personalizer, PersonalSignals

log = logging.getLogger(__name__)
TASTE_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
VECTOR_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MIN_CELL_QUERIES = 8  # a cell with fewer dev queries takes its history bucket's pooled weights
TOP = 10
# while signals are collected every cell must move the ranking, so that every search's pool holds the
# personalised retrieval's candidates and the learner sees them (a learnt zero then leaves them unused)
PROBE = BlendTable({f"{h}|{k}": BlendWeights(1.0, 1.0) for h, _, _ in HISTORY_BUCKETS for k in QUERY_KINDS}, "probe")


@dataclass(frozen=True, slots=True)
class Observed:
    """One (shopper, query) answered anonymously, with the personal step's signals for its candidates."""

    query: ShopperQuery
    ids: list[str]  # the anonymous candidates, best first
    signals: PersonalSignals | None  # None: no history


def ndcg_at_10(ranked: Sequence[str], grades: Mapping[str, int]) -> float:
    """Linear-gain nDCG@10: the tuning monitor only (reported numbers come from ranx)."""
    discounts = 1.0 / np.log2(np.arange(2, TOP + 2))
    gains = np.array([grades.get(d, 0) for d in ranked[:TOP]], dtype=float)
    ideal = np.sort(np.array(list(grades.values()), dtype=float))[::-1][:TOP]
    best = float((ideal * discounts[: len(ideal)]).sum())
    return float((gains * discounts[: len(gains)]).sum()) / best if best > 0 else 0.0


def ranked(observed: Observed, weights: BlendWeights) -> list[str]:
    if observed.signals is None:
        return observed.ids
    order = np.argsort(-observed.signals.blended(weights), kind="stable")
    return [observed.ids[i] for i in order]


def _best(items: Sequence[Observed], qrels: Mapping[str, Mapping[str, int]], tastes: Sequence[float]) -> BlendWeights:
    """The weights with the best mean dev nDCG@10 (ties: the smaller weights, so history moves less)."""
    scored = []
    for taste in tastes:
        for vector in VECTOR_GRID:
            w = BlendWeights(taste, vector)
            mean = float(np.mean([ndcg_at_10(ranked(o, w), qrels[o.query.qid]) for o in items]))
            scored.append((round(mean, 6), -(taste + vector), w))
    return max(scored, key=lambda s: (s[0], s[1]))[2]


def learn_blend(
    dev: Sequence[Observed], qrels: Mapping[str, Mapping[str, int]], *, taste: bool = True, source: str = "learnt"
) -> BlendTable:
    """One pair of weights per (history bucket, query kind) from the dev shoppers."""
    tastes = TASTE_GRID if taste else (0.0,)
    with_history = [o for o in dev if o.signals is not None]
    cells: dict[str, BlendWeights] = {}
    counts: dict[str, int] = {}
    for bucket, _, _ in HISTORY_BUCKETS:
        in_bucket = [o for o in with_history if o.query.history == bucket]
        pooled = _best(in_bucket, qrels, tastes) if in_bucket else BlendWeights(0.0, 0.0)
        for kind in QUERY_KINDS:
            cell = [o for o in in_bucket if o.signals is not None and query_kind(o.signals.named) == kind]
            key = f"{bucket}|{kind}"
            counts[key] = len(cell)
            cells[key] = _best(cell, qrels, tastes) if len(cell) >= MIN_CELL_QUERIES else pooled
    return BlendTable(cells, source=source, extra={"dev_queries_per_cell": counts})


class PersonalSearchRun:
    """The pipeline, the temporary event store and the personalizer for one evaluation."""

    def __init__(self, pipeline: Any, personalizer: Personalizer, store: EventStore) -> None:
        self.pipeline = pipeline
        self.personalizer = personalizer
        self.store = store
        self._anonymous: dict[str, list[dict[str, Any]]] = {}

    def anonymous(self, text: str) -> list[dict[str, Any]]:
        """The first stage's candidates for `text` (as many as the personal step re-orders), cached."""
        from aisle.pipeline.request import SearchRequest

        if text not in self._anonymous:
            k = self.personalizer.settings.personal_candidates
            self._anonymous[text] = self.pipeline.search(SearchRequest(query=text, top_k=k)).results
        return self._anonymous[text]

    def observe(self, query: ShopperQuery) -> Observed:
        """The pool the personal step sees for this shopper (as `SearchPipeline.search` builds it) and its
        signals; `ids` starts with the anonymous order."""
        from aisle.pipeline.request import SearchRequest

        understood = self.pipeline.understanding.parse(query.text)
        request = SearchRequest(query=query.text, user=query.shopper)
        hits, pool = self.pipeline.personal_pool(query.text, self.anonymous(query.text), request, understood)
        hits = hits[:pool]
        signals = self.personalizer.signals(hits, query.shopper, fixed=understood.attributes, named=understood.named)
        return Observed(query, [str(h["id"]) for h in hits], signals)

    def personalised(self, query: ShopperQuery) -> tuple[list[str], float]:
        """The full search path with the shopper: its top 10 ids and the personal step's milliseconds."""
        from aisle.pipeline.request import SearchRequest

        response = self.pipeline.search(SearchRequest(query=query.text, user=query.shopper, top_k=TOP))
        return [str(h["id"]) for h in response.results], float(response.timings_ms.get("personalize", 0.0))


def open_run(
    corpus: Sequence[Any], shoppers: Sequence[Shopper], folder: Path, settings: Settings, **kw: Any
) -> PersonalSearchRun:
    """Ingest the corpus (incremental), write the shoppers' histories into a store under `folder`."""
    from aisle.eval.datasets import build_dataset
    from aisle.eval.runner import ingest_dataset
    from aisle.index.client import open_engine
    from aisle.index.collection import ProductIndex
    from aisle.pipeline.encoders import EncoderSet
    from aisle.pipeline.personal import make_personalizer
    from aisle.pipeline.search import SearchPipeline

    engine = kw.get("engine") or open_engine(settings)
    summary = ingest_dataset(
        build_dataset("myntra", list(corpus), {}, {}, "personal-search"), settings, engine, kw.get("progress", True)
    )
    index = ProductIndex(engine, summary.collection)
    store = EventStore(folder / "events.sqlite3", secrets.token_bytes(32))
    now = now_utc()
    for shopper in shoppers:
        store.record(history_events(shopper, now))
    personalizer = make_personalizer(index, settings, store=store, blend=PROBE)
    encoders = EncoderSet.build(index.metadata()["encoder_options"], settings.encoder_backend)
    pipeline = SearchPipeline(index, encoders, settings=settings, ranker=None, personalizer=personalizer)
    return PersonalSearchRun(pipeline, personalizer, store)


def evaluate_personal_search(
    corpus: Sequence[Any],
    *,
    settings: Settings | None = None,
    n_shoppers: int = 400,
    seed: int = 0,
    progress: bool = True,
    engine: Any = None,
    save_blend: Callable[[str, BlendTable], Path | None] | None = None,
) -> dict[str, Any]:
    """Simulate, learn the blend on dev, measure on test; returns the report (see `personal_search_report`)."""
    from tqdm import tqdm

    from aisle.eval.personal_search_report import build

    settings = settings or get_settings()
    started = time.perf_counter()
    _, shoppers, queries, qrels = simulate(corpus, n_shoppers, seed)
    by_id = {s.id: s for s in shoppers}
    with tempfile.TemporaryDirectory(prefix="aisle-personal-search-") as tmp:
        run = open_run(corpus, shoppers, Path(tmp), settings, engine=engine, progress=progress)
        try:
            observed = [run.observe(q) for q in tqdm(queries, desc="signals", unit="query", disable=not progress)]
            dev = [o for o in observed if by_id[o.query.shopper].split == "dev"]
            test = [o for o in observed if by_id[o.query.shopper].split == "test"]
            learnt = learn_blend(dev, qrels, source=f"learnt on {len(dev)} dev queries")
            content_only = learn_blend(dev, qrels, taste=False, source="content vectors only, learnt on dev")
            run.personalizer.blend = learnt
            runs: dict[str, dict[str, list[str]]] = defaultdict(dict)
            step_ms: list[float] = []
            for o in tqdm(test, desc="test", unit="query", disable=not progress):
                qid = o.query.qid
                runs["anonymous"][qid] = o.ids[:TOP]
                runs["personal"][qid], ms = run.personalised(o.query)
                if o.signals is not None:
                    step_ms.append(ms)
                runs["personal-content"][qid] = (
                    ranked(o, content_only.weights(o.signals.events, o.signals.named)) if o.signals else o.ids
                )
                runs["personal-default"][qid] = (
                    ranked(o, DEFAULT_TABLE.weights(o.signals.events, o.signals.named)) if o.signals else o.ids
                )
        finally:
            run.store.close()
        collection = run.pipeline.index.name
    saved = save_blend(collection, learnt) if save_blend else None
    return build(
        test=[o.query for o in test],
        qrels=qrels,
        runs=runs,
        blends={"personal": learnt, "personal-content": content_only, "personal-default": DEFAULT_TABLE},
        step_ms=step_ms,
        context={
            "collection": collection,
            "corpus_products": len(corpus),
            "shoppers": {
                "all": len(shoppers),
                "dev": sum(s.split == "dev" for s in shoppers),
                "test": sum(s.split == "test" for s in shoppers),
            },
            "queries": {"dev": len(dev), "test": len(test)},
            "seed": seed,
            "blend_saved_to": str(saved) if saved else None,
            "seconds": round(time.perf_counter() - started, 1),
            "personal_candidates": settings.personal_candidates,
        },
    )
