"""The Insights tab: the latest evaluation report (tables and plots), its latency percentiles, and the
latency of the searches this server has answered (and the last `benchmarks/serve.py` run, when there is one)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import gradio as gr

from aisle.ui.service import AisleService

log = logging.getLogger(__name__)
SERVE_BENCH_FILE = "serve/latest.json"  # under reports_dir, written by benchmarks/serve.py


def eval_reports(reports_dir: Path) -> list[Path]:
    """Run folders holding a report.json, newest first."""
    folders = [p.parent for p in (reports_dir / "eval").glob("*/report.json")]
    return sorted(folders, key=lambda p: (p / "report.json").stat().st_mtime, reverse=True)


def _latency_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for pipeline, lat in (report.get("latency_ms") or {}).items():
        rows.append([f"eval: {pipeline}", *(_num(lat.get(k)) for k in ("p50", "p95", "p99")), lat.get("n")])
    return rows


def _num(value: Any) -> Any:
    return round(value, 1) if isinstance(value, int | float) else None


def _load_plot(path: Path) -> Any:
    if not path.is_file():
        return None
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def report_view(service: AisleService, folder: str | None) -> tuple[Any, ...]:
    """Markdown of the chosen (default: latest) report, its two plots, and the latency table."""
    reports = eval_reports(service.settings.reports_dir)
    live = service.latency()
    rows: list[list[Any]] = []
    if live.get("count"):
        rows.append(["this server: /api/search + UI", live["p50"], live["p95"], live["p99"], live["count"]])
    bench = _serve_benchmark(service.settings.reports_dir / SERVE_BENCH_FILE)
    if bench:
        rows.append(bench)
    if not reports:
        text = (
            "No evaluation report yet. Run `aisle eval myntra` (or another data set) and refresh: "
            f"reports are read from `{service.settings.reports_dir / 'eval'}`."
        )
        return gr.Markdown(text), None, None, rows
    chosen = Path(folder) if folder and Path(folder) in reports else reports[0]
    try:
        report = json.loads((chosen / "report.json").read_text(encoding="utf-8"))
        markdown = (chosen / "report.md").read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        return gr.Markdown(f"Cannot read the report in `{chosen}`: {exc}"), None, None, rows
    markdown = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)  # the plots are shown beside it
    rows = _latency_rows(report) + rows
    return gr.Markdown(markdown), _load_plot(chosen / "metrics.png"), _load_plot(chosen / "latency.png"), rows


def _serve_benchmark(path: Path) -> list[Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [f"benchmark: {data['clients']} clients ({data.get('created', '')})", data["p50"], data["p95"],
                data["p99"], data["requests"]]  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_insights_tab(service: AisleService, blocks: gr.Blocks) -> None:
    reports = [str(p) for p in eval_reports(service.settings.reports_dir)]
    with gr.Row():
        chooser = gr.Dropdown(reports, value=reports[0] if reports else None, label="Report", scale=4)
        refresh = gr.Button("Refresh", scale=1, elem_id="insights-refresh")
    latency = gr.Dataframe(
        headers=["where", "p50 ms", "p95 ms", "p99 ms", "count"], label="Latency percentiles", elem_id="latency"
    )
    with gr.Row():
        metrics_plot = gr.Image(label="Metrics", type="pil", interactive=False)
        latency_plot = gr.Image(label="Latency", type="pil", interactive=False)
    markdown = gr.Markdown(elem_id="report")

    def show(folder: str | None) -> tuple[Any, ...]:
        text, metrics, lat, rows = report_view(service, folder)
        return text, metrics, lat, rows

    outputs = [markdown, metrics_plot, latency_plot, latency]
    refresh.click(show, [chooser], outputs)
    chooser.input(show, [chooser], outputs)
    blocks.load(show, [chooser], outputs)
