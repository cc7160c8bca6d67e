"""The harness's metrics equal ranx's and a hand computation; intervals, p-values and latency percentiles."""

from __future__ import annotations

import math

import pytest

from aisle.eval.metrics import bootstrap_ci, evaluate_split, latency_summary, per_query_scores

QRELS = {"q1": {"a": 3, "b": 2, "c": 0, "d": 1}, "q2": {"x": 1}}
RUN = {"q1": {"c": 4.0, "a": 3.0, "e": 2.0, "b": 1.0}, "q2": {"y": 3.0, "z": 2.0, "x": 1.0}}


def dcg(gains: list[int]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def test_ndcg_and_mrr_equal_ranx_and_a_hand_computation() -> None:
    from ranx import Qrels, Run, evaluate

    # q1 ranks c(0) a(3) e(-) b(2); its ideal order is a(3) b(2) d(1). q2 finds x(1) at rank 3.
    ndcg_q1 = dcg([0, 3, 0, 2]) / dcg([3, 2, 1])
    ndcg_q2 = dcg([0, 0, 1]) / dcg([1])
    hand = {"ndcg@10": (ndcg_q1 + ndcg_q2) / 2, "mrr@10": (1 / 2 + 1 / 3) / 2}
    result = evaluate_split(QRELS, {"run": RUN}, "all", metrics=("ndcg@10", "mrr@10"))
    reference = evaluate(Qrels(QRELS), Run(RUN), ["ndcg@10", "mrr@10"])
    for metric, expected in hand.items():
        value = result.values["run"][metric]
        assert value.mean == pytest.approx(expected, abs=1e-9)
        assert value.mean == pytest.approx(float(reference[metric]), abs=1e-12)
        assert value.n == 2 and value.ci_low <= value.mean <= value.ci_high
        assert value.p_value is None  # the baseline is not tested against itself
    assert result.per_query["run"]["ndcg@10"] == pytest.approx({"q1": ndcg_q1, "q2": ndcg_q2})


def test_missing_queries_score_zero_and_recall_counts_graded_documents() -> None:
    scores = per_query_scores(QRELS, {"q1": {"d": 1.0}}, ("recall@100", "ndcg@10"))
    assert scores["recall@100"] == pytest.approx({"q1": 1 / 3, "q2": 0.0})
    assert scores["ndcg@10"]["q2"] == 0.0


def test_paired_test_against_the_first_pipeline() -> None:
    qrels = {f"q{i}": {"good": 1} for i in range(12)}
    good = {q: {"good": 2.0, "bad": 1.0} for q in qrels}
    bad = {q: {"bad": 2.0, "good": 1.0} for q in qrels}
    same = {q: dict(v) for q, v in good.items()}
    result = evaluate_split(qrels, {"base": good, "worse": bad, "same": same}, "all", metrics=("mrr@10",))
    assert result.values["worse"]["mrr@10"].mean == 0.5 and result.values["worse"]["mrr@10"].significant
    assert not result.values["same"]["mrr@10"].significant


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] * 5
    low, high = bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values)
    assert low < 0.5 < high
    assert bootstrap_ci([0.7] * 10) == pytest.approx((0.7, 0.7))


def test_latency_percentiles() -> None:
    summary = latency_summary(float(x) for x in range(1, 101))
    assert summary["n"] == 100 and summary["p50"] == pytest.approx(50.5) and summary["p99"] == pytest.approx(99.01)
    assert latency_summary([])["n"] == 0
