"""The personal step: re-orders only its pool of candidates, never adds, cold start unchanged; the
taste profile, the learnt blend and the reasons it gives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aisle.config import Settings
from aisle.personal.blend import BlendTable, BlendWeights
from aisle.personal.demo import create_demo_shoppers, demo_groups
from aisle.personal.events import EventStore
from aisle.personal.personalizer import ContentProfileScorer, Personalizer
from aisle.types import BehaviourEvent, EventType, Product

# two "taste" directions: shoes for women (w*) and for men (m*)
VECTORS = {
    **{f"w{i}": np.array([1.0, 0.1 * i, 0.0], dtype=np.float32) for i in range(6)},
    **{f"m{i}": np.array([0.0, 0.1 * i, 1.0], dtype=np.float32) for i in range(6)},
}


def fake_vectors(ids: Sequence[str]) -> dict[str, np.ndarray]:
    """A stand-in for the collection's stored vectors."""
    return {i: VECTORS[i] for i in ids if i in VECTORS}


def _attributes(pid: str) -> dict[str, str]:
    return {"gender": "Women" if pid.startswith("w") else "Men", "article_type": "Casual Shoes", "colour": "Black"}


def fake_payloads(ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """A stand-in for the collection's stored payloads."""
    return {i: {"product_id": i, **_attributes(i)} for i in ids if i in VECTORS}


def _hits() -> list[dict]:
    """Relevance order alternates men's and women's shoes, men's first."""
    order = ["m0", "w0", "m1", "w1", "m2", "w2", "m3", "w3"]
    return [{"id": pid, "score": 1.0 - 0.01 * n, "title": pid, **_attributes(pid)} for n, pid in enumerate(order)]


def _uniform(taste: float, vector: float) -> BlendTable:
    return BlendTable({f"{h}|{k}": BlendWeights(taste, vector) for h in ("1-4", "5-20", "21+")
                       for k in ("ambiguous", "partly", "specified")})  # fmt: skip


@pytest.fixture
def personalizer(settings: Settings) -> Personalizer:
    store = EventStore.open(settings)
    now = datetime.now(UTC)
    store.record([BehaviourEvent("ann", f"w{i}", EventType.PURCHASE, now - timedelta(hours=i)) for i in (4, 5)])
    return Personalizer(
        ContentProfileScorer(),
        fake_vectors,
        settings=settings,
        store=store,
        payloads=fake_payloads,
        fields=("gender", "article_type", "colour"),
        blend=_uniform(1.0, 1.0),
    )


def test_history_moves_matching_products_up_without_adding_any(personalizer: Personalizer) -> None:
    hits = _hits()
    out = personalizer.rerank("shoes", hits, "ann")
    assert sorted(h["id"] for h in out) == sorted(h["id"] for h in hits)
    before = {h["id"]: n for n, h in enumerate(hits)}
    after = {h["id"]: n for n, h in enumerate(out)}
    assert [h["id"] for h in out[:2]] == ["w0", "w1"]
    assert all(after[p] < before[p] for p in ("w0", "w1", "w2", "w3"))
    assert all(after[p] > before[p] for p in ("m0", "m1", "m2", "m3"))
    assert all("personal" in h["scores"] and "before_personal" in h["scores"] for h in out)
    assert hits[0]["score"] == 1.0 and "scores" not in hits[0]  # inputs are not mutated


def test_the_rankers_relevance_logit_survives_personalisation(personalizer: Personalizer) -> None:
    hits = [{**h, "scores": {"fused": 0.5, "relevance": -1.25}} for h in _hits()]
    out = personalizer.rerank("shoes", hits, "ann")
    assert all(h["scores"]["relevance"] == -1.25 and h["scores"]["fused"] == 0.5 for h in out)
    by_id = {h["id"]: h["score"] for h in hits}
    assert all(h["scores"]["before_personal"] == by_id[h["id"]] for h in out)


def test_cold_start_and_no_user_keep_the_relevance_order(personalizer: Personalizer) -> None:
    hits = _hits()
    assert personalizer.rerank("shoes", hits, "nobody-seen-before") == hits
    assert personalizer.rerank("shoes", hits, None) == hits


def test_only_the_top_candidates_are_reordered(settings: Settings, personalizer: Personalizer) -> None:
    personalizer.settings = settings.model_copy(update={"personal_candidates": 4})
    out = personalizer.rerank("shoes", _hits(), "ann")
    assert {h["id"] for h in out[:4]} == {"m0", "w0", "m1", "w1"}
    assert [h["id"] for h in out[4:]] == ["m2", "w2", "m3", "w3"]
    scores = [h["score"] for h in out]
    assert scores == sorted(scores, reverse=True)


def test_weight_zero_is_the_relevance_order(settings: Settings, personalizer: Personalizer) -> None:
    personalizer.settings = settings.model_copy(update={"personal_weight": 0.0})
    assert [h["id"] for h in personalizer.rerank("shoes", _hits(), "ann")] == [h["id"] for h in _hits()]
    assert personalizer.profile_vector("ann") is None


def test_a_learnt_zero_for_specified_queries_leaves_them_alone(personalizer: Personalizer) -> None:
    personalizer.blend = BlendTable({"1-4|ambiguous": BlendWeights(1.0, 1.0)})
    assert [h["id"] for h in personalizer.rerank("shoes", _hits(), "ann", named=1)][:2] == ["w0", "w1"]
    hits = _hits()
    specified = personalizer.rerank("black casual shoes for men", hits, "ann", named=3)
    assert [h["id"] for h in specified] == [h["id"] for h in hits]
    assert personalizer.profile_vector("ann", named=3) is None
    assert personalizer.profile_vector("ann", named=1) is not None


def test_taste_alone_moves_the_shoppers_gender_up_and_says_why(personalizer: Personalizer) -> None:
    personalizer.blend = _uniform(1.0, 0.0)
    out = personalizer.rerank("shoes", _hits(), "ann")
    assert [h["id"] for h in out[:4]] == ["w0", "w1", "w2", "w3"]
    assert out[0]["personal_reason"] == "because you bought 2 women's casual shoes"
    assert all("personal_reason" not in h for h in out if h["id"].startswith("m"))


def test_a_field_the_query_fixed_is_not_overridden_by_taste(personalizer: Personalizer) -> None:
    personalizer.blend = _uniform(1.0, 0.0)
    hits = _hits()
    out = personalizer.rerank("shoes for men", hits, "ann", fixed={"gender": "Men"})
    assert [h["id"] for h in out] == [h["id"] for h in hits]  # only gender differed, and the query named it


def test_a_hit_without_what_the_query_named_is_never_lifted(personalizer: Personalizer) -> None:
    """ "watches" for a shopper of women's shoes: women's shoes in the pool must not rise above the watches."""
    watches = [{"id": f"x{i}", "score": 1.0 - 0.01 * i, "gender": "Men", "article_type": "Watches"} for i in range(3)]
    shoes = [{**h, "score": 0.5 - 0.01 * n} for n, h in enumerate(_hits()) if h["id"].startswith("w")]
    out = personalizer.rerank("watches", watches + shoes, "ann", fixed={"article_type": "Watches"})
    assert [h["id"] for h in out[:3]] == ["x0", "x1", "x2"]
    lifted = personalizer.rerank("watches", watches + shoes, "ann")  # unnamed, the same history lifts the shoes
    assert lifted[0]["id"].startswith("w")


def test_the_pool_takes_candidates_added_below_the_first_ones(settings: Settings, personalizer: Personalizer) -> None:
    personalizer.settings = settings.model_copy(update={"personal_candidates": 2})
    hits = _hits()
    out = personalizer.rerank("shoes", hits, "ann", pool=4)  # the pipeline appended w1 and m1 to m0, w0
    assert [h["id"] for h in out[:2]] == ["w0", "w1"] and [h["id"] for h in out[4:]] == [h["id"] for h in hits[4:]]


def test_an_event_sent_now_changes_the_next_search(personalizer: Personalizer) -> None:
    """In-session: the store is read on every search, nothing is retrained."""
    assert personalizer.rerank("shoes", _hits(), "bob") == _hits()
    personalizer.store.record([BehaviourEvent("bob", "m3", EventType.CLICK, datetime.now(UTC))])
    out = personalizer.rerank("shoes", _hits(), "bob")
    assert out[0]["id"].startswith("m") and out[0]["scores"]["personal"] > 0


def test_demo_shoppers_are_idempotent(settings: Settings) -> None:
    products = [
        Product("1", "Nike Women Heels", attributes={"gender": "Women", "master_category": "Footwear"}),
        Product("2", "Puma Men Sneakers", attributes={"gender": "Men", "master_category": "Footwear"}),
        Product("3", "Titan Men Watch", attributes={"gender": "Men", "sub_category": "Watches"}),
    ]
    groups = demo_groups(products)
    assert groups == {"womens-footwear": ["1"], "mens-footwear": ["2"], "mens-watches": ["3"]}
    first = create_demo_shoppers(settings, groups, events_per_shopper=5)
    again = create_demo_shoppers(settings, groups, events_per_shopper=5)
    assert first == again == {"demo-womens-footwear": 5, "demo-mens-footwear": 5, "demo-mens-watches": 5}
    with EventStore.open(settings) as store:
        assert {e.product_id for e in store.history("demo-womens-footwear")} == {"1"}
        assert store.count() == 15
    with pytest.raises(ValueError, match="no demo product groups"):
        create_demo_shoppers(settings, {})
