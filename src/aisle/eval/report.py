"""Reports: `report.json` (every number, the settings, the data set and its fingerprint, the git commit),
`report.md` (tables for people) and PNG plots, written into a run folder."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aisle.catalog.split import in_split
from aisle.config import Settings
from aisle.eval.datasets import EvalDataset
from aisle.eval.metrics import MAX_P, METRICS, STAT_TEST, SplitResult, latency_summary
from aisle.eval.runner import EvalRuns

REPORT_VERSION = 1


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit(cwd: Path | None = None) -> str | None:
    """`git rev-parse HEAD` of the checkout, or None outside one."""
    return _git(["rev-parse", "HEAD"], cwd) or None


def git_dirty(cwd: Path | None = None) -> bool | None:
    """Whether the checkout has uncommitted changes (None outside one)."""
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return None if status is None else bool(status)


def timestamp() -> str:
    """UTC, sortable and safe in a folder name: 20250101T120000Z."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _clean(value: Any) -> Any:
    """JSON without NaN: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def build_report(
    dataset: EvalDataset,
    runs: EvalRuns,
    results: Mapping[str, SplitResult],
    *,
    settings: Settings,
    config: Mapping[str, Any],
    created: str | None = None,
) -> dict[str, Any]:
    """Everything about one evaluation as one JSON-able dict."""
    pipelines = list(runs.runs)
    return _clean(
        {
            "report_version": REPORT_VERSION,
            "created": created or timestamp(),
            "git_commit": git_commit(Path(__file__).parent),
            "git_dirty": git_dirty(Path(__file__).parent),
            "dataset": {
                "name": dataset.name,
                "fingerprint": dataset.fingerprint,
                "source": dataset.source,
                **dataset.sizes(),
                "queries_per_split": {s: len(in_split(dataset.queries, s)) for s in ("dev", "test", "all")},
            },
            "collection": runs.collection,
            "ingest": runs.ingest,
            "config": {
                **config,
                "metrics": list(METRICS),
                "stat_test": STAT_TEST,
                "max_p": MAX_P,
                "ci": "95% percentile bootstrap of the mean, 1000 resamples, seed 0",
                "settings": {
                    "text_model": settings.text_model,
                    "clip_model": settings.clip_model,
                    "encoder_backend": settings.encoder_backend,
                    "hybrid_weights": settings.hybrid_weights,
                    "rrf_k": settings.rrf_k,
                    "prefetch_limit": settings.prefetch_limit,
                    "attribute_boost": settings.attribute_boost,
                },
            },
            "pipelines": pipelines,
            "baseline": pipelines[0] if pipelines else None,
            "skipped": runs.skipped,
            "splits": list(results),
            "metrics": {
                split: {p: {m: v.to_json() for m, v in by_metric.items()} for p, by_metric in r.values.items()}
                for split, r in results.items()
            },
            "latency_ms": {p: latency_summary(run.latency_ms.values()) for p, run in runs.runs.items()},
            "errors": {p: len(run.errors) for p, run in runs.runs.items()},
            "per_query": {
                "metrics": per_query_metrics(results),
                "latency_ms": {p: run.latency_ms for p, run in runs.runs.items()},
            },
        }
    )


def per_query_metrics(results: Mapping[str, SplitResult]) -> dict[str, dict[str, dict[str, float]]]:
    """pipeline -> metric -> {query id: value} over every evaluated query: the `all` split's when it was
    evaluated, else the evaluated splits' together (`--split test` alone must not leave this empty: paired
    comparisons of stored runs need it). dev and test never share a query."""
    if "all" in results:
        return results["all"].per_query
    merged: dict[str, dict[str, dict[str, float]]] = {}
    for result in results.values():
        for pipeline, by_metric in result.per_query.items():
            for metric, values in by_metric.items():
                merged.setdefault(pipeline, {}).setdefault(metric, {}).update(values)
    return merged


def _cell(value: Mapping[str, Any] | None) -> str:
    if not value or value.get("mean") is None:
        return "-"
    text = f"{value['mean']:.3f}"
    if value.get("ci_low") is not None:
        text += f" ({value['ci_low']:.3f}-{value['ci_high']:.3f})"
    if value.get("significant"):
        text += " *"
    return text


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(report: Mapping[str, Any]) -> str:
    """The human view: data set, one pipelines x metrics table per split, latency, plots."""
    data = report["dataset"]
    metrics = report["config"]["metrics"]
    lines = [
        f"# Evaluation: {data['name']}",
        "",
        f"- data set: `{data['name']}` fingerprint `{data['fingerprint'][:12]}`, {data['corpus']:,} products, "
        f"{data['queries']:,} queries ({data['queries_per_split']['dev']} dev / {data['queries_per_split']['test']} "
        f"test), {data['judgments']:,} judgments",
        f"- collection: `{report['collection']}`; top_k {report['config'].get('top_k')}; "
        f"created {report['created']}; commit `{report.get('git_commit') or 'unknown'}`"
        + (" (with uncommitted changes)" if report.get("git_dirty") else ""),
        f"- mean (95% bootstrap CI); `*` = differs from `{report['baseline']}` (paired t-test, ranx "
        f"`{report['config']['stat_test']}`, p < {report['config']['max_p']})",
    ]
    for name, why in report["skipped"].items():
        lines.append(f"- skipped `{name}`: {why}")
    for split in report["splits"]:
        by_pipeline = report["metrics"][split]
        lines += [
            "",
            f"## {split}",
            "",
            "| pipeline | " + " | ".join(metrics) + " |",
            "|---" * (len(metrics) + 1) + "|",
        ]
        for pipeline in report["pipelines"]:
            values = by_pipeline.get(pipeline, {})
            lines.append(f"| {pipeline} | " + " | ".join(_cell(values.get(m)) for m in metrics) + " |")
    lines += ["", "## latency (ms per query, `timings_ms.total`)", "", "| pipeline | p50 | p95 | p99 | mean | errors |"]
    lines.append("|---|---|---|---|---|---|")
    for pipeline in report["pipelines"]:
        lat = report["latency_ms"][pipeline]
        lines.append(
            f"| {pipeline} | {_ms(lat['p50'])} | {_ms(lat['p95'])} | {_ms(lat['p99'])} | {_ms(lat['mean'])} | "
            f"{report['errors'].get(pipeline, 0)} |"
        )
    lines += ["", "![metrics](metrics.png)", "", "![latency](latency.png)", ""]
    return "\n".join(lines)


def write_report(report: Mapping[str, Any], folder: Path, latencies: Mapping[str, list[float]]) -> list[Path]:
    """report.json, report.md and the plots into `folder`; returns the files written."""
    from aisle.eval.plots import plot_latency, plot_metrics

    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "report.json", folder / "report.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return [
        json_path,
        md_path,
        plot_metrics(report, folder / "metrics.png"),
        plot_latency(latencies, folder / "latency.png"),
    ]
