"""Two stored evaluation runs side by side: each split's metrics and the latency of every pipeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ReportError(ValueError):
    """A path that is not a readable evaluation report."""


def load_report(path: Path) -> dict[str, Any]:
    """report.json itself, or a run folder holding one."""
    file = path / "report.json" if path.is_dir() else path
    if not file.is_file():
        raise ReportError(f"no evaluation report at {path} (give a run folder or its report.json)")
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{file} is not a readable report: {exc}") from None
    if not isinstance(report, dict) or "metrics" not in report or "pipelines" not in report:
        raise ReportError(f"{file} is not an aisle evaluation report")
    return report


@dataclass(frozen=True, slots=True)
class Row:
    split: str
    pipeline: str
    metric: str
    a: float | None
    b: float | None
    p_value: float | None = None  # paired t-test over the queries both runs scored (None: too few, or no data)

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


def _mean(report: Mapping[str, Any], split: str, pipeline: str, metric: str) -> float | None:
    value = report["metrics"].get(split, {}).get(pipeline, {}).get(metric)
    return None if not value else value.get("mean")


def _union(*lists: list[str]) -> list[str]:
    return list(dict.fromkeys(x for items in lists for x in items))


def paired_p_value(a: Mapping[str, Any], b: Mapping[str, Any], split: str, pipeline: str, metric: str) -> float | None:
    """Paired t-test of one pipeline's per-query metric in two reports, over the queries of `split` that both
    scored; None with fewer than two such queries or when no query changed."""
    from scipy.stats import ttest_rel

    from aisle.catalog.split import split_of

    def values(report: Mapping[str, Any]) -> Mapping[str, float]:
        return report.get("per_query", {}).get("metrics", {}).get(pipeline, {}).get(metric, {})

    va, vb = values(a), values(b)
    common = [q for q in va if q in vb and (split == "all" or split_of(q) == split)]
    diffs = {vb[q] - va[q] for q in common}
    if len(common) < 2 or diffs == {0.0}:
        return None
    if len(diffs) == 1:  # every query moved by the same amount: no variance, t is infinite
        return 0.0
    return float(ttest_rel([va[q] for q in common], [vb[q] for q in common]).pvalue)


def compare_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Row]:
    """One row per split, pipeline and metric found in either report (missing values are None), with the
    paired p-value where both reports hold per-query values."""
    metrics = _union(a["config"]["metrics"], b["config"]["metrics"])
    rows = []
    for split in _union(list(a["metrics"]), list(b["metrics"])):
        for pipeline in _union(a["pipelines"], b["pipelines"]):
            for metric in metrics:
                means = _mean(a, split, pipeline, metric), _mean(b, split, pipeline, metric)
                rows.append(Row(split, pipeline, metric, *means, paired_p_value(a, b, split, pipeline, metric)))
    return rows


def latency_rows(a: Mapping[str, Any], b: Mapping[str, Any], stat: str = "p50") -> list[Row]:
    rows = []
    for pipeline in _union(a["pipelines"], b["pipelines"]):
        va = a.get("latency_ms", {}).get(pipeline, {}).get(stat)
        vb = b.get("latency_ms", {}).get(pipeline, {}).get(stat)
        rows.append(Row("latency", pipeline, f"{stat} ms", va, vb))
    return rows


def warnings_for(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What makes the two runs not directly comparable."""
    out = []
    da, db = a.get("dataset", {}), b.get("dataset", {})
    if da.get("name") != db.get("name"):
        out.append(f"different data sets: {da.get('name')} vs {db.get('name')}")
    elif da.get("fingerprint") != db.get("fingerprint"):
        out.append("same data set name but different fingerprints (other corpus, queries or qrels)")
    return out
