"""Property-based API fuzzing: the schemathesis CLI against the live server's own OpenAPI schema. Whatever a
client sends, the answer is never a 5xx, and every answer matches the documented status codes, content types
and response schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
REPORTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "schemathesis"


def _schemathesis(server: Any, name: str, *args: str) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "0",
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--report",
        "junit",
        "--report-junit-path",
        str(REPORTS / f"{name}.xml"),
        "--no-color",
        *args,
    ]
    REPORTS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPORTS)  # its cache goes there
    if done.returncode != 0:
        pytest.fail(f"schemathesis found problems:\n{done.stdout[-12000:]}\n{done.stderr[-3000:]}")


@pytest.mark.slow
def test_api_never_fails_on_any_input(server: Any) -> None:
    _schemathesis(server, "api", "--exclude-path", "/api/chat", "--max-examples", "40")


@pytest.mark.slow
def test_chat_never_fails_on_any_input(server: Any) -> None:
    """Fewer examples: each valid one runs the real assistant (a local LLM on CPU)."""
    _schemathesis(server, "chat", "--include-path", "/api/chat", "--max-examples", "6")
