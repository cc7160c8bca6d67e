"""Metrics from ranx (never hand-written): means and per-query values per split, paired significance tests
against the first pipeline (`ranx.compare`), bootstrap confidence intervals, and latency percentiles."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aisle.catalog.split import in_split

METRICS: tuple[str, ...] = ("ndcg@10", "mrr@10", "recall@100", "map@100")
STAT_TEST = "student"  # paired t-test
MAX_P = 0.05
Runs = Mapping[str, Mapping[str, Mapping[str, float]]]  # pipeline -> {qid: {doc id: score}}


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A metric's mean over a split's queries, its 95% bootstrap interval, and the paired test against the
    baseline (the first pipeline; None for the baseline itself)."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float | None = None
    significant: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SplitResult:
    split: str
    queries: int
    values: dict[str, dict[str, MetricValue]]  # pipeline -> metric -> value
    per_query: dict[str, dict[str, dict[str, float]]]  # pipeline -> metric -> {qid: value}


def bootstrap_ci(
    values: Sequence[float] | np.ndarray, confidence: float = 0.95, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded, so reports are reproducible)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def per_query_scores(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = METRICS
) -> dict[str, dict[str, float]]:
    """metric -> {qid: value} from ranx, for every query of `qrels` (a query missing from the run scores 0)."""
    from ranx import Qrels, Run, evaluate

    ranx_run = Run({q: dict(run.get(q, {})) for q in qrels}, name="run")
    evaluate(Qrels({q: dict(j) for q, j in qrels.items()}), ranx_run, list(metrics), make_comparable=True)
    return {m: {q: float(v) for q, v in ranx_run.scores[m].items()} for m in metrics}


def _p_values(
    qrels: Mapping[str, Mapping[str, int]], runs: Runs, metrics: Sequence[str]
) -> dict[str, dict[str, float]]:
    """pipeline -> metric -> p-value of the paired test against the first pipeline."""
    from ranx import Qrels, Run, compare

    names = list(runs)
    if len(names) < 2:
        return {}
    ranx_runs = [Run({q: dict(runs[n].get(q, {})) for q in qrels}, name=n) for n in names]
    with warnings.catch_warnings():  # identical or constant differences (common between pipelines) warn in scipy
        warnings.simplefilter("ignore", RuntimeWarning)
        report = compare(
            Qrels({q: dict(j) for q, j in qrels.items()}),
            ranx_runs,
            list(metrics),
            stat_test=STAT_TEST,
            max_p=MAX_P,
            make_comparable=True,
        ).to_dict()
    return {n: {m: float(p) for m, p in report[names[0]]["comparisons"][n].items()} for n in names[1:]}


def evaluate_split(
    qrels: Mapping[str, Mapping[str, int]], runs: Runs, split: str = "all", metrics: Sequence[str] = METRICS
) -> SplitResult:
    """Every pipeline's metrics over the queries of `split` (ids hashed by `aisle.catalog.split`)."""
    qids = in_split(qrels, split)
    sub = {q: qrels[q] for q in qids}
    if not sub:
        return SplitResult(split, 0, {}, {})
    per_query = {name: per_query_scores(sub, run, metrics) for name, run in runs.items()}
    p_values = _p_values(sub, runs, metrics)
    values: dict[str, dict[str, MetricValue]] = {}
    for name, scores in per_query.items():
        values[name] = {}
        for metric in metrics:
            data = np.array([scores[metric][q] for q in qids])
            low, high = bootstrap_ci(data)
            p = p_values.get(name, {}).get(metric)
            values[name][metric] = MetricValue(
                float(data.mean()), low, high, len(qids), p, None if p is None else bool(p < MAX_P)
            )
    return SplitResult(split, len(qids), values, per_query)


def evaluate_splits(
    qrels: Mapping[str, Mapping[str, int]],
    runs: Runs,
    splits: Iterable[str] = ("dev", "test", "all"),
    metrics: Sequence[str] = METRICS,
) -> dict[str, SplitResult]:
    return {split: evaluate_split(qrels, runs, split, metrics) for split in splits}


def latency_summary(latencies_ms: Iterable[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean (ms) and the count."""
    data = np.asarray(list(latencies_ms), dtype=float)
    if data.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan"), "n": 0}
    p50, p95, p99 = np.percentile(data, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(data.mean()), "n": int(data.size)}
