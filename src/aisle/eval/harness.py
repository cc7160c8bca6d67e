"""One evaluation end to end: run the pipelines, score them per split, write the report into the run store
(`AISLE_HOME/reports/eval/<data set>-<timestamp>/`) and, when asked, into another folder too."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisle.config import Settings, get_settings
from aisle.eval.datasets import EvalDataset
from aisle.eval.runner import DEFAULT_PIPELINES, TOP_K, run_pipelines

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evaluation:
    report: dict[str, Any]
    folder: Path  # the run store folder
    out: Path | None  # the extra copy (--out), when asked for


def run_folder(dataset_name: str, created: str, settings: Settings) -> Path:
    """A new folder under the run store: `<data set>-<timestamp>` (suffixed when it already exists)."""
    base = settings.reports_dir / "eval" / f"{dataset_name}-{created}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def evaluate(
    dataset: EvalDataset,
    pipelines: Sequence[str] = DEFAULT_PIPELINES,
    *,
    settings: Settings | None = None,
    out: Path | None = None,
    split: str = "all",
    config: dict[str, Any] | None = None,
    engine: Any = None,
    progress: bool = True,
) -> Evaluation:
    """Run, score and report `dataset` (whose queries are already selected, e.g. by `datasets.select`)."""
    from aisle.eval.metrics import evaluate_splits
    from aisle.eval.report import build_report, timestamp, write_report

    settings = settings or get_settings()
    created = timestamp()
    runs = run_pipelines(dataset, pipelines, settings=settings, engine=engine, top_k=TOP_K, progress=progress)
    splits = ("dev", "test", "all") if split == "all" else (split,)
    results = evaluate_splits(dataset.qrels, {name: r.run for name, r in runs.runs.items()}, splits)
    config = {"split": split, "top_k": TOP_K, "pipelines_asked": list(pipelines), **(config or {})}
    report = build_report(dataset, runs, results, settings=settings, config=config, created=created)
    folder = run_folder(dataset.name, created, settings)
    latencies = {name: list(r.latency_ms.values()) for name, r in runs.runs.items()}
    write_report(report, folder, latencies)
    if out is not None and out.resolve() != folder.resolve():
        shutil.copytree(folder, out, dirs_exist_ok=True)
    log.info("evaluation written to %s", out or folder)
    return Evaluation(report, folder, out)
