"""`aisle eval DATASET ...` end to end (a tiny WANDS fixture; a 40-query CrowdFlower "nano" run on the shared
data) and the errors of the `eval` group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aisle.cli.main import app
from aisle.eval.metrics import METRICS
from tests.test_loaders import write_wands

runner = CliRunner()


def _report(folder: Path) -> dict:
    for name in ("report.json", "report.md", "metrics.png", "latency.png"):
        assert (folder / name).is_file(), name
    return json.loads((folder / "report.json").read_text())


@pytest.mark.slow
def test_eval_dataset_then_compare(tmp_path: Path, isolated_home: Path) -> None:
    data = write_wands(tmp_path / "wands")
    args = ["eval", "wands", "--data", str(data), "--pipeline", "bm25", "--pipeline", "image", "--pipeline", "dense"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    assert "wands / all" in result.output and "skipped image" in result.output
    report = _report(tmp_path / "out")
    assert report["pipelines"] == ["bm25", "dense"] and "image" in report["skipped"]
    assert report["dataset"]["corpus"] == 2 and report["collection"].startswith("eval-wands-")
    stored = list((isolated_home / "reports" / "eval").glob("wands-*"))
    assert len(stored) == 1 and _report(stored[0])["dataset"] == report["dataset"]
    assert report["ingest"]["embedded"] == 2
    # a second run reuses the collection, and the two runs compare
    result = runner.invoke(app, [*args, "--split", "dev", "-q"])
    assert result.exit_code == 0, result.output
    again = min(set((isolated_home / "reports" / "eval").glob("wands-*")) - set(stored))
    assert _report(again)["ingest"]["embedded"] == 0 and _report(again)["splits"] == ["dev"]
    result = runner.invoke(app, ["eval", "compare", str(stored[0]), str(again)])
    assert result.exit_code == 0, result.output
    assert "dev: A -> B" in result.output


def test_eval_group_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "msmarco"])
    assert result.exit_code == 2 and "unknown data set 'msmarco'" in result.output
    data = write_wands(tmp_path / "wands")
    result = runner.invoke(app, ["eval", "wands", "--data", str(data), "--pipeline", "bm42"])
    assert result.exit_code == 2 and "unknown bm42" in result.output
    result = runner.invoke(app, ["eval", "wands", "--data", str(data), "--split", "train"])
    assert result.exit_code == 2 and "--split" in result.output
    assert "compare" in runner.invoke(app, ["eval", "--help"]).output


@pytest.mark.dataset
@pytest.mark.slow
def test_nano_crowdflower_run(shared_data: Path, tmp_path: Path) -> None:
    """40 CrowdFlower queries over the products judged for them, three pipelines: all outputs, every number."""
    pipelines = ["bm25", "dense", "hybrid-rrf"]
    args = ["eval", "crowdflower", "--limit-queries", "40", "--out", str(tmp_path / "nano"), "-q"]
    result = runner.invoke(app, [*args, *(a for p in pipelines for a in ("--pipeline", p))])
    print(result.output)
    assert result.exit_code == 0, result.output
    report = _report(tmp_path / "nano")
    assert report["dataset"]["queries"] == 40 and report["config"]["corpus_limited_to_judged"]
    assert report["pipelines"] == pipelines
    for split in ("dev", "test", "all"):
        for pipeline in pipelines:
            values = report["metrics"][split][pipeline]
            assert set(values) == set(METRICS) and all(0 <= v["mean"] <= 1 for v in values.values())
    for pipeline in pipelines:
        assert report["latency_ms"][pipeline]["n"] == 40
