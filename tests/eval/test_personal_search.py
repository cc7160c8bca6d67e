"""The simulated shoppers of `aisle eval personal-search`, the blend learnt from them, and the report's targets."""

from __future__ import annotations

import itertools
import math

import numpy as np

from aisle.eval.personal_search import Observed, learn_blend, ndcg_at_10, ranked
from aisle.eval.personal_search_report import build
from aisle.eval.shoppers import ShopperQuery, simulate
from aisle.personal.blend import BlendWeights
from aisle.personal.personalizer import PersonalSignals
from aisle.types import Product

TYPES = {"Casual Shoes": "Shoes", "Heels": "Shoes", "Tshirts": "Topwear", "Watches": "Watches"}


def _corpus() -> list[Product]:
    products = []
    combos = itertools.product(("Men", "Women"), TYPES, ("Black", "White", "Red"), ("Casual", "Sports"), range(3))
    for n, (gender, article, colour, usage, _) in enumerate(combos):
        if article == "Heels" and gender == "Men":
            continue
        attributes = {"gender": gender, "article_type": article, "sub_category": TYPES[article],
                      "colour": colour, "usage": usage}  # fmt: skip
        products.append(Product(f"p{n}", f"{gender} {colour} {article}", attributes=attributes))
    return products


def test_simulation_is_seeded_and_grades_by_query_then_profile() -> None:
    corpus = _corpus()
    _, shoppers, queries, qrels = simulate(corpus, 24, seed=3)
    _, again, _, again_qrels = simulate(corpus, 24, seed=3)
    assert shoppers == again and qrels == again_qrels
    assert {s.split for s in shoppers} == {"dev", "test"}
    assert {len(s.history) == 0 for s in shoppers} == {True, False}  # history lengths cycle from 0
    attributes = {p.id: p.attributes for p in corpus}
    by_id = {s.id: s for s in shoppers}
    for query in queries:
        shopper = by_id[query.shopper]
        for pid, grade in qrels[query.qid].items():
            product = attributes[pid]
            assert all(product[k] == v for k, v in query.named.items())  # relevant only if it matches the query
            if "gender" not in query.named:  # the profile decides the gender the query left open
                assert product["gender"] == shopper.gender
            assert 1 <= grade <= 4
    kinds = {q.kind for q in queries}
    assert kinds == {"ambiguous", "partly", "specified"}
    assert all(len(q.named) == 3 for q in queries if q.kind == "specified")


def _observed(qid: str, ids: list[str], taste: list[float], events: int = 8, named: int = 1) -> Observed:
    n = len(ids)
    signals = PersonalSignals(
        relevance=np.linspace(1.0, 0.0, n),
        taste=np.array(taste),
        vector=np.zeros(n),
        events=events,
        named=named,
        skip=frozenset(),
        matches=np.ones(n, dtype=bool),
        history=[],
        values=[{} for _ in ids],
    )
    query = ShopperQuery(qid, "s", "shoes", "ambiguous", {}, "5-20")
    return Observed(query, ids, signals)


def test_learn_blend_finds_the_weight_that_lifts_the_relevant_product() -> None:
    # the relevant product is last by relevance, first by taste: only a taste weight >= 1 brings it to the top
    dev = [_observed(f"q{i}", ["a", "b", "c"], [0.0, 0.0, 1.5]) for i in range(10)]
    qrels = {f"q{i}": {"c": 1} for i in range(10)}
    table = learn_blend(dev, qrels)
    chosen = table.weights(8, 1)
    assert chosen.taste >= 1.0
    assert ranked(dev[0], chosen)[0] == "c"
    assert ndcg_at_10(ranked(dev[0], BlendWeights(0.0, 0.0)), qrels["q0"]) < 1.0 == ndcg_at_10(["c"], qrels["q0"])
    # where history only hurts, the learner keeps the anonymous order
    harmful = learn_blend(dev, {f"q{i}": {"a": 1} for i in range(10)})
    assert harmful.weights(8, 1) == BlendWeights(0.0, 0.0)


def test_report_checks_its_targets_from_the_numbers() -> None:
    test = [ShopperQuery(f"q{i}", f"s{i}", "shoes", "ambiguous", {}, "5-20") for i in range(12)]
    test += [ShopperQuery(f"n{i}", f"t{i}", "red dresses for women", "specified", {}, "0") for i in range(6)]
    qrels = {q.qid: {"good": 3, "ok": 1} for q in test}
    anonymous = {q.qid: ["x", "y", "ok", "good"] for q in test}
    personal = {q.qid: (["good", "ok"] if q.kind == "ambiguous" else anonymous[q.qid]) for q in test}
    report = build(test=test, qrels=qrels, runs={"anonymous": anonymous, "personal": personal}, blends={},
                   step_ms=[2.0] * 10, context={})  # fmt: skip
    targets = report["targets"]
    assert targets["ambiguous_5plus_events"]["met"] and targets["ambiguous_5plus_events"]["ratio"] > 1.25
    assert targets["specified_no_loss"]["met"] and targets["no_history_no_loss"]["met"]
    assert targets["personal_step_p99_ms"]["met"]
    assert math.isnan(report["slices"]["no history"]["pipelines"]["personal"]["p_value"])
    worse = build(test=test, qrels=qrels, runs={"anonymous": personal, "personal": anonymous}, blends={},
                  step_ms=[], context={})  # fmt: skip
    assert not worse["targets"]["ambiguous_5plus_events"]["met"]
    assert not worse["targets"]["personal_step_p99_ms"]["met"]  # no measurement is not a pass
