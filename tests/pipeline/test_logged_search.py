"""`aisle eval personal-search --logged`: the shop's own searches with clicks, each answered with the history
that its shopper had just before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aisle.config import Settings
from aisle.eval.logged_search import evaluate_logged, logged_searches
from aisle.personal.events import EventStore
from aisle.types import BehaviourEvent, EventType

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_events_group_into_searches_with_graded_products() -> None:
    events = [
        BehaviourEvent("u1", "p1", EventType.CLICK, NOW, "Red  Shirts"),
        BehaviourEvent("u1", "p1", EventType.PURCHASE, NOW + timedelta(minutes=3), "red shirts"),
        BehaviourEvent("u1", "p2", EventType.VIEW, NOW, "red shirts"),  # a view is no judgment
        BehaviourEvent("u1", "p3", EventType.CLICK, NOW + timedelta(days=1), "red shirts"),  # another day
        BehaviourEvent("u2", "p9", EventType.CLICK, NOW, None),  # no query: not a search
    ]
    searches = logged_searches(events)
    assert [(s.user, s.judged) for s in searches] == [("u1", {"p1": 3}), ("u1", {"p3": 1})]
    assert searches[0].when == NOW


def test_logged_searches_are_answered_with_the_history_before_them(
    shared_engine: Any, ingested: str, search_settings: Settings, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", clip_model=search_settings.clip_model)
    with EventStore.open(settings) as store:
        # she bought women's shirts; today she searched "watches" and opened the three women's watches
        earlier = [BehaviourEvent("lia", pid, EventType.PURCHASE, NOW - timedelta(days=2)) for pid in ("p01", "p09")]
        search = [BehaviourEvent("lia", pid, EventType.CLICK, NOW, "watches") for pid in ("p05", "p13", "p21")]
        cold = [BehaviourEvent("max", "p00", EventType.CLICK, NOW, "red shirts for men")]
        store.record(earlier + search + cold)
        pseudonym = store.pseudonym("lia")
        assert {e.product_id for e in store.history_of(pseudonym, before=NOW)} == {"p01", "p09"}  # not the search
    report = evaluate_logged(ingested, settings=settings, engine=shared_engine)
    assert report["queries"] == {"logged": 2} and report["shoppers"] == {"all": 2}
    watches = report["slices"]["ambiguous | 1-4"]["pipelines"]
    assert watches["personal"]["mean"] > watches["anonymous"]["mean"]  # her gender, from her purchases, decides
    no_history = report["slices"]["no history"]["pipelines"]
    assert no_history["personal"]["mean"] == no_history["anonymous"]["mean"]
    assert report["personal_step_ms"]["n"] == 2  # the step ran (and found no history) for the second too


def test_an_empty_log_is_a_clear_error(
    shared_engine: Any, ingested: str, search_settings: Settings, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", clip_model=search_settings.clip_model)
    with pytest.raises(ValueError, match="no clicks, add-to-carts or purchases with the query"):
        evaluate_logged(ingested, settings=settings, engine=shared_engine)
