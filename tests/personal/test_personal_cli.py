"""`aisle events ...`, `aisle train-personal`, `aisle eval personal`: clear errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def run_aisle(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aisle.cli.main", *args],
        capture_output=True,
        text=True,
        env={"AISLE_HOME": str(home), "PATH": "/usr/bin:/bin", "AISLE_CONFIG": str(home / "none.toml")},
        check=False,
    )


def test_import_then_history(tmp_path: Path, isolated_home: Path) -> None:
    log = tmp_path / "ubi.jsonl"
    when = datetime.now(UTC).isoformat()
    log.write_text(
        json.dumps({"action_name": "purchase", "client_id": "shopper-7", "timestamp": when,
                    "event_attributes": {"object": {"object_id": "sku-1"}}})
    )  # fmt: skip
    done = run_aisle("events", "import", "ubi", str(log), home=isolated_home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stored"] == 1
    shown = run_aisle("events", "history", "shopper-7", home=isolated_home)
    assert json.loads(shown.stdout)["product_id"] == "sku-1" and json.loads(shown.stdout)["type"] == "purchase"


def test_bad_input_is_a_clear_error(tmp_path: Path, isolated_home: Path) -> None:
    unknown = run_aisle("eval", "personal", "netflix", home=isolated_home)
    assert unknown.returncode == 2 and "unknown data set" in unknown.stderr and "Traceback" not in unknown.stderr
    source = run_aisle("train-personal", "clicks", home=isolated_home)
    assert source.returncode == 2 and "unknown source" in source.stderr
    kind = run_aisle("events", "import", "weblog", str(tmp_path), home=isolated_home)
    assert kind.returncode == 2 and "unknown event log kind" in kind.stderr and "Traceback" not in kind.stderr
    empty = run_aisle("train-personal", "events", home=isolated_home)
    assert empty.returncode == 2 and "shoppers have 3 or more" in empty.stderr
