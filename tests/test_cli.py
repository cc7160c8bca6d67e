"""The `aisle` command: lazy start-up, `catalog check`, `ingest`, and clear errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aisle.cli.main import app
from tests.test_quarantine import BAD_ROWS, write_catalogue

runner = CliRunner()


def run_aisle(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aisle.cli.main", *args],
        capture_output=True,
        text=True,
        env={"AISLE_HOME": str(env_home), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_help_imports_no_heavy_libraries() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from aisle.cli.main import app;"
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output;"
        "print(sorted(m for m in ('torch', 'pandas', 'pyarrow', 'PIL', 'qdrant_client', 'transformers')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_catalog_check_writes_the_report(tmp_path: Path, isolated_home: Path) -> None:
    source = write_catalogue(tmp_path)
    result = runner.invoke(app, ["catalog", "check", str(source), "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid_rows"] == 4 and report["quarantined_rows"] == len(BAD_ROWS)
    assert (tmp_path / "out" / "quality_report.json").is_file()
    assert len((tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()) == len(BAD_ROWS)


def test_ingest_stores_the_clean_catalogue_idempotently(tmp_path: Path, isolated_home: Path) -> None:
    source = write_catalogue(tmp_path)
    for _ in range(2):
        result = runner.invoke(app, ["ingest", str(source), "--collection", "shop"])
        assert result.exit_code == 0, result.output
    from aisle.catalog.store import iter_catalog

    folder = isolated_home / "catalogs" / "shop"
    assert sorted(p.id for p in iter_catalog(folder)) == ["p1", "p2", "p3", "p4"]
    assert json.loads((folder / "manifest.json").read_text())["quarantined"] == len(BAD_ROWS)


def test_ingest_fails_only_when_nothing_is_valid(tmp_path: Path, isolated_home: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("id,title,price\n,No Id,1\n2,Bad Price,-1\n")
    result = run_aisle("ingest", str(source), env_home=isolated_home)
    assert result.returncode == 1
    assert "nothing could be ingested" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_source_is_a_clear_error(tmp_path: Path, isolated_home: Path) -> None:
    result = run_aisle("catalog", "check", "wands:/no/such/folder", env_home=isolated_home)
    assert result.returncode == 2
    assert "no such folder" in result.stderr and "Traceback" not in result.stderr
    result = run_aisle("catalog", "check", str(tmp_path / "x.csv"), "--map", "oops", env_home=isolated_home)
    assert result.returncode == 2 and "FIELD=COLUMN" in result.stderr
