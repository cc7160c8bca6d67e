"""`--user` in the SearchPipeline: a shopper's history re-orders the results of an ambiguous query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aisle.config import Settings
from aisle.personal.events import EventStore
from aisle.pipeline.request import SearchRequest
from aisle.types import BehaviourEvent, EventType, Product


def _womens_shoes(hits: list[dict[str, Any]]) -> list[int]:
    """The ranks of women's casual shoes."""
    return [n for n, h in enumerate(hits) if h["gender"] == "Women" and h["article_type"] == "Casual Shoes"]


def test_user_history_reorders_but_never_adds(
    pipeline: Any, catalogue: list[Product], search_settings: Settings
) -> None:
    history = [
        p for p in catalogue if p.attributes["gender"] == "Women" and p.attributes["article_type"] == "Casual Shoes"
    ]
    now = datetime.now(UTC)
    with EventStore.open(search_settings) as store:
        store.record(
            [
                BehaviourEvent("test-shopper-1", p.id, EventType.PURCHASE, now - timedelta(hours=n))
                for n, p in enumerate(history)
            ]
        )
    plain = pipeline.search(SearchRequest(query="shoes", top_k=6))
    personal = pipeline.search(SearchRequest(query="shoes", top_k=6, user="test-shopper-1"))
    assert _womens_shoes(personal.results) == [0, 1, 2]
    assert _womens_shoes(plain.results) != [0, 1, 2]
    assert "personalize" in personal.timings_ms and "personalize" not in plain.timings_ms
    wide = {h["id"] for h in pipeline.search(SearchRequest(query="shoes", top_k=50)).results}
    assert {h["id"] for h in personal.results} <= wide
    assert all("personal" in h["scores"] for h in personal.results)


def test_unknown_shopper_gets_the_plain_order(pipeline: Any) -> None:
    plain = pipeline.search(SearchRequest(query="jeans", top_k=5))
    cold = pipeline.search(SearchRequest(query="jeans", top_k=5, user="never-seen"))
    assert [h["id"] for h in cold.results] == [h["id"] for h in plain.results]
