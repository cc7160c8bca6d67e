"""`aisle eval personal-search --logged`: anonymous vs personalised search on the shop's own logged searches.

Every click, add-to-cart or purchase stored with the query it came from is relevance evidence for that
query (grades 1, 2, 3; a search is one shopper's query on one day, its judged products the ones they acted
on). Each search is answered as the shopper's history stood just before it (no event from the search itself
or later is seen), anonymously and personalised, through the collection's own pipeline. Unlike the simulated
evaluation nothing is learnt here: the collection's blend is measured as it is served. Position bias is not
corrected: a product shown first is clicked more whichever ranking put it there.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aisle.config import Settings, get_settings
from aisle.eval.shoppers import ShopperQuery
from aisle.personal.blend import history_bucket, query_kind
from aisle.personal.events import EventStore
from aisle.types import BehaviourEvent, EventType

GRADES = {EventType.CLICK: 1, EventType.ADD_TO_CART: 2, EventType.PURCHASE: 3}
TOP = 10


class HistoryAsOf:
    """The event store as it was at `when`: histories hold only the events before it."""

    def __init__(self, store: EventStore, when: datetime) -> None:
        self.store = store
        self.when = when

    def history(self, user: str, limit: int = 50) -> list[BehaviourEvent]:
        return self.store.history_of(user, limit, before=self.when)  # `user` is the stored pseudonym here


@dataclass(frozen=True, slots=True)
class LoggedSearch:
    qid: str
    user: str  # the pseudonym
    query: str
    when: datetime  # the first event of the search
    judged: dict[str, int]  # product id -> grade


def logged_searches(events: Sequence[BehaviourEvent]) -> list[LoggedSearch]:
    """Events grouped into searches: one shopper, one query (case and spacing aside), one day."""
    groups: dict[tuple[str, str, str], list[BehaviourEvent]] = defaultdict(list)
    for event in events:
        text = " ".join((event.query or "").lower().split())
        if text and event.type in GRADES:
            groups[(event.user, text, event.timestamp.date().isoformat())].append(event)
    out = []
    for (user, text, day), group in groups.items():
        judged: dict[str, int] = {}
        for event in group:
            judged[event.product_id] = max(judged.get(event.product_id, 0), GRADES[event.type])
        qid = hashlib.sha1(f"{user}|{text}|{day}".encode()).hexdigest()[:16]
        out.append(LoggedSearch(qid, user, group[0].query or text, min(e.timestamp for e in group), judged))
    return sorted(out, key=lambda s: s.when)


def evaluate_logged(collection: str, *, settings: Settings | None = None, engine: Any = None) -> dict[str, Any]:
    """The report (same format as the simulated evaluation's) over the event store's logged searches."""
    from aisle.eval.personal_search_report import build
    from aisle.pipeline.request import SearchRequest
    from aisle.pipeline.search import SearchPipeline

    settings = settings or get_settings()
    started = time.perf_counter()
    pipeline = SearchPipeline.open(collection, settings, engine=engine)
    personalizer = pipeline.personalizer
    if personalizer is None:
        raise ValueError("personalisation is switched off (AISLE_PERSONALIZE=false): nothing to compare")
    with EventStore.open(settings) as store:
        searches = logged_searches(store.logged_searches(tuple(GRADES)))
        if not searches:
            raise ValueError(
                "the event store holds no clicks, add-to-carts or purchases with the query they came from "
                '(send them to POST /api/events with "query", or import a log with `aisle events import`)'
            )
        queries: list[ShopperQuery] = []
        runs: dict[str, dict[str, list[str]]] = defaultdict(dict)
        step_ms: list[float] = []
        for search in searches:
            personalizer.store = HistoryAsOf(store, search.when)  # type: ignore[attr-defined]
            request = SearchRequest(query=search.query, user=search.user, top_k=TOP)
            anonymous = pipeline.search(SearchRequest(query=search.query, top_k=TOP))
            personal = pipeline.search(request)
            runs["anonymous"][search.qid] = [str(h["id"]) for h in anonymous.results]
            runs["personal"][search.qid] = [str(h["id"]) for h in personal.results]
            if "personalize" in personal.timings_ms:
                step_ms.append(float(personal.timings_ms["personalize"]))
            events = len(store.history_of(search.user, 10_000, before=search.when))
            named = pipeline.understanding.parse(" ".join(search.query.split())).named
            queries.append(
                ShopperQuery(search.qid, search.user, search.query, query_kind(named), {}, history_bucket(events))
            )
    return build(
        test=queries,
        qrels={s.qid: s.judged for s in searches},
        runs=runs,
        blends={"personal": personalizer.blend},  # type: ignore[attr-defined]
        step_ms=step_ms,
        context={
            "method": "logged searches from the event store (clicks 1, add-to-cart 2, purchase 3; no position-"
            "bias correction); the history as it stood before each search",
            "collection": collection,
            "corpus_products": int(pipeline.index.count()),
            "shoppers": {"all": len({s.user for s in searches})},
            "queries": {"logged": len(searches)},
            "seed": None,
            "seconds": round(time.perf_counter() - started, 1),
            "personal_candidates": settings.personal_candidates,
        },
    )
