"""PNG plots with matplotlib's Agg canvas (no display, no pyplot global state): each metric per pipeline
with confidence intervals, and the latency distribution per pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def plot_metrics(report: Mapping[str, Any], path: Path) -> Path:
    """One panel per metric: a bar per pipeline and split, with its 95% interval."""
    metrics = report["config"]["metrics"]
    pipelines = report["pipelines"]
    splits = report["splits"]
    figure = _figure(3.2 * max(len(metrics), 1), 3.6)
    axes = figure.subplots(1, max(len(metrics), 1), squeeze=False)[0]
    width = 0.8 / max(len(splits), 1)
    for ax, metric in zip(axes, metrics, strict=False):
        for s, split in enumerate(splits):
            xs: list[float] = []
            means: list[float] = []
            errors: list[list[float]] = [[], []]
            for i, pipeline in enumerate(pipelines):
                value = report["metrics"][split].get(pipeline, {}).get(metric)
                if not value or value.get("mean") is None:
                    continue
                xs.append(i + (s - (len(splits) - 1) / 2) * width)
                means.append(value["mean"])
                low = value["mean"] if value.get("ci_low") is None else value["ci_low"]
                high = value["mean"] if value.get("ci_high") is None else value["ci_high"]
                errors[0].append(max(value["mean"] - low, 0.0))
                errors[1].append(max(high - value["mean"], 0.0))
            ax.bar(xs, means, width, yerr=errors, capsize=2, label=split)
        ax.set_title(metric)
        ax.set_xticks(range(len(pipelines)))
        ax.set_xticklabels(pipelines, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", ncol=max(len(splits), 1), fontsize=8)
    figure.suptitle(f"{report['dataset']['name']}: mean with 95% CI", x=0.02, ha="left")
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    figure.savefig(path)
    return path


def plot_latency(latencies: Mapping[str, list[float]], path: Path) -> Path:
    """Box plots of per-query latency (ms, log scale) per pipeline."""
    names = [n for n, values in latencies.items() if values]
    figure = _figure(max(4.0, 1.2 * len(names) + 2), 3.6)
    ax = figure.subplots()
    if names:
        ax.boxplot([latencies[n] for n in names], showfliers=True)
        ax.set_xticks(range(1, len(names) + 1))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_yscale("log")
    ax.set_ylabel("ms per query")
    ax.set_title("search latency (timings_ms.total)")
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    return path
