"""Reports from hand-made runs (no models): report.json, report.md and plots; `aisle eval compare A B`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aisle.cli.main import app
from aisle.config import Settings
from aisle.eval.compare import ReportError, load_report
from aisle.eval.datasets import EvalDataset, build_dataset
from aisle.eval.metrics import METRICS, evaluate_splits
from aisle.eval.report import build_report, markdown, write_report
from aisle.eval.runner import EvalRuns, PipelineRun
from aisle.types import Product

runner = CliRunner()
QIDS = [f"q{n}" for n in range(12)]


def _dataset() -> EvalDataset:
    corpus = [Product(id=f"p{n}", title=f"P{n}") for n in range(24)]
    qrels = {q: {f"p{n}": 2, f"p{n + 12}": 1} for n, q in enumerate(QIDS)}
    return build_dataset("toy", corpus, {q: f"query {q}" for q in QIDS}, qrels)


def _runs(shift: int) -> EvalRuns:
    good = {q: {f"p{n}": 3.0, f"p{n + 12}": 2.0, "p23": 1.0} for n, q in enumerate(QIDS)}
    worse = {q: {f"p{(n + shift) % 12}": 3.0, f"p{n + 12}": 2.0} for n, q in enumerate(QIDS)}
    latency = {q: 10.0 + n for n, q in enumerate(QIDS)}
    return EvalRuns(
        "eval-toy-x",
        {"bm25": PipelineRun("bm25", good, latency), "dense": PipelineRun("dense", worse, latency, {"q0": "boom"})},
        {"image": "the collection has no image vectors"},
        {"products": 24},
    )


def _write(folder: Path, settings: Settings, shift: int) -> dict:
    dataset, runs = _dataset(), _runs(shift)
    results = evaluate_splits(dataset.qrels, {n: r.run for n, r in runs.runs.items()})
    report = build_report(dataset, runs, results, settings=settings, config={"split": "all", "top_k": 100})
    write_report(report, folder, {n: list(r.latency_ms.values()) for n, r in runs.runs.items()})
    return report


def test_report_files_hold_every_pipeline_and_split(tmp_path: Path, settings: Settings) -> None:
    _write(tmp_path / "run", settings, shift=1)
    for name in ("report.json", "report.md", "metrics.png", "latency.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert (tmp_path / "run" / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    text = (tmp_path / "run" / "report.json").read_text()
    report = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in report.json"))
    assert report["dataset"]["name"] == "toy" and len(report["dataset"]["fingerprint"]) == 40
    assert report["pipelines"] == ["bm25", "dense"] and report["baseline"] == "bm25"
    assert report["skipped"] == {"image": "the collection has no image vectors"}
    for split in ("dev", "test", "all"):
        for pipeline in ("bm25", "dense"):
            assert set(report["metrics"][split][pipeline]) == set(METRICS)
    assert report["metrics"]["all"]["bm25"]["ndcg@10"]["mean"] == pytest.approx(1.0)
    dense = report["metrics"]["all"]["dense"]["ndcg@10"]
    assert dense["mean"] < 1.0 and dense["significant"] and dense["p_value"] < 0.05
    assert report["latency_ms"]["bm25"]["p50"] == pytest.approx(15.5) and report["errors"]["dense"] == 1
    assert set(report["per_query"]["metrics"]["dense"]["ndcg@10"]) == set(QIDS)
    assert report["config"]["settings"]["text_model"] == settings.text_model and report["created"]
    md = (tmp_path / "run" / "report.md").read_text()
    assert md == markdown(report)
    assert "## dev" in md and "## test" in md and "| dense |" in md and " *" in md and "skipped `image`" in md


def test_compare_two_stored_runs(tmp_path: Path, settings: Settings) -> None:
    _write(tmp_path / "a", settings, shift=1)
    _write(tmp_path / "b", settings, shift=0)  # B's dense is perfect
    result = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b" / "report.json")])
    assert result.exit_code == 0, result.output
    assert "all: A -> B" in result.output and "latency" in result.output and "+" in result.output
    result = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"])
    rows = json.loads(result.output)["rows"]
    dense = next(r for r in rows if (r["split"], r["pipeline"], r["metric"]) == ("all", "dense", "ndcg@10"))
    assert dense["b"] == pytest.approx(1.0) and dense["delta"] == pytest.approx(1.0 - dense["a"])
    assert dense["p_value"] < 0.05  # paired over the same 12 queries: B's dense wins on every one it lost
    bm25 = next(r for r in rows if (r["split"], r["pipeline"], r["metric"]) == ("all", "bm25", "ndcg@10"))
    assert bm25["delta"] == pytest.approx(0.0) and bm25["p_value"] is None  # identical runs: no test


def test_compare_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no evaluation report"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text('{"hello": 1}')
    with pytest.raises(ReportError, match="not an aisle evaluation report"):
        load_report(tmp_path)


def test_a_single_split_run_keeps_its_per_query_metrics(settings: Settings) -> None:
    from aisle.catalog.split import split_of

    dataset, runs = _dataset(), _runs(1)
    results = evaluate_splits(dataset.qrels, {n: r.run for n, r in runs.runs.items()}, splits=("test",))
    report = build_report(dataset, runs, results, settings=settings, config={"split": "test", "top_k": 100})
    test_qids = {q for q in QIDS if split_of(q) == "test"}
    assert test_qids  # the toy ids fall on both sides
    assert set(report["per_query"]["metrics"]["dense"]["ndcg@10"]) == test_qids


def test_paired_p_value_uses_the_split_queries_both_runs_scored() -> None:
    from aisle.catalog.split import split_of
    from aisle.eval.compare import paired_p_value

    qids = [f"q{n}" for n in range(40)]
    rng = np.random.default_rng(0)
    a_values = {q: float(v) for q, v in zip(qids, rng.uniform(0.3, 0.7, len(qids)), strict=True)}
    gain = {q: 0.2 if split_of(q) == "test" else 0.0 for q in qids}
    b_values = {q: v + gain[q] + float(rng.normal(0, 0.01)) for q, v in a_values.items()}
    b_values["only-in-b"] = 1.0

    def report(values: dict[str, float]) -> dict:
        return {"per_query": {"metrics": {"hybrid": {"ndcg@10": values}}}}

    a, b = report(a_values), report(b_values)
    assert paired_p_value(a, b, "test", "hybrid", "ndcg@10") < 1e-6  # test queries all gained 0.2
    assert paired_p_value(a, b, "dev", "hybrid", "ndcg@10") > 0.01  # dev queries only jittered
    assert paired_p_value(a, b, "all", "hybrid", "ndcg@10") < 0.05
    assert paired_p_value(a, b, "all", "bm25", "ndcg@10") is None  # no per-query values for it
