"""What a user can cause from the command line ends in one line and a non-zero exit, never a traceback, and a
failed ingest leaves what was stored as it was. Secrets and personal data are owner-only files."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aisle.config import Settings
from tests.test_cli import run_aisle
from tests.test_quarantine import write_catalogue


@pytest.fixture
def index_held_elsewhere(isolated_home: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that owns the embedded index folder (as `aisle serve` would)."""
    code = (
        "import sys, time; from pathlib import Path; from aisle.index.owner import claim;"
        "claim(Path(sys.argv[1])); print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(isolated_home / "edge")], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield holder
    holder.kill()
    holder.wait()


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_held_index_is_named_and_a_failed_ingest_changes_nothing(
    tmp_path: Path, isolated_home: Path, index_held_elsewhere: subprocess.Popen[str]
) -> None:
    folder = isolated_home / "catalogs" / "shop"
    folder.mkdir(parents=True)
    before = {"products.jsonl": '{"id": "old"}\n', "manifest.json": '{"products": 800}\n'}
    for name, text in before.items():
        (folder / name).write_text(text)
    source = write_catalogue(tmp_path)
    line = _one_line_error(run_aisle("ingest", str(source), "--collection", "shop", env_home=isolated_home))
    assert str(index_held_elsewhere.pid) in line and "AISLE_QDRANT_URL" in line
    assert {name: (folder / name).read_text() for name in before} == before
    line = _one_line_error(run_aisle("search", "shirts", "--collection", "shop", env_home=isolated_home))
    assert str(index_held_elsewhere.pid) in line


def test_a_home_built_by_the_old_engine_is_told_to_rebuild(isolated_home: Path) -> None:
    """qdrant-client's local mode kept collections under AISLE_HOME/qdrant/collection/NAME: nothing is
    deleted, and search and serve say in one line how to rebuild for Qdrant Edge."""
    old = isolated_home / "qdrant" / "collection" / "shop"
    old.mkdir(parents=True)
    (old / "storage.sqlite").write_bytes(b"old points")
    for command in (["search", "shirts", "--collection", "shop"], ["serve", "--collection", "shop", "--port", "1"]):
        line = _one_line_error(run_aisle(*command, env_home=isolated_home))
        assert "old embedded engine" in line and "--rebuild" in line and "aisle demo" in line, line
    assert (old / "storage.sqlite").read_bytes() == b"old points"


def test_user_scoped_cli_commands_need_a_token(isolated_home: Path) -> None:
    line = _one_line_error(run_aisle("search", "shirts", "--user", "ana", env_home=isolated_home))
    assert "token" in line
    line = _one_line_error(run_aisle("chat", "-m", "where is my order?", "--user", "ana", env_home=isolated_home))
    assert "token" in line


def test_token_issue_signs_for_the_demo_key(isolated_home: Path) -> None:
    issued = run_aisle("token", "issue", "--user", "demo-womens-footwear", "--demo", env_home=isolated_home)
    assert issued.returncode == 0, issued.stderr
    from aisle.ui.auth import TokenVerifier, demo_key

    settings = Settings(home=isolated_home)
    verifier = TokenVerifier.from_settings(settings, demo_key=demo_key(settings))
    identity = verifier.verify(issued.stdout.strip())
    assert identity.subject == "demo-womens-footwear" and identity.demo
    key = isolated_home / "keys" / "demo-auth.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    no_key = run_aisle("token", "issue", "--user", "ana", env_home=isolated_home)
    assert "AISLE_AUTH_SECRET" in _one_line_error(no_key)


def test_serve_refuses_a_readable_key(isolated_home: Path) -> None:
    from aisle.cli.errors import UserError
    from aisle.cli.serve_cmd import check_secrets
    from aisle.personal.events import load_key

    settings = Settings(home=isolated_home)
    load_key(settings)
    check_secrets(settings)  # created 0600: fine
    key = isolated_home / "keys" / "events.key"
    key.chmod(0o644)
    with pytest.raises(UserError, match="chmod 600"):
        check_secrets(settings)
    from aisle.files import InsecureFileError

    with pytest.raises(InsecureFileError):
        load_key(settings)


def test_stores_holding_personal_data_are_owner_only(isolated_home: Path) -> None:
    from aisle.assistant.memory import SessionStore
    from aisle.personal.events import EventStore

    settings = Settings(home=isolated_home)
    stores = isolated_home / "stores"
    stores.mkdir(mode=0o755)
    (stores / "events.sqlite3").write_bytes(b"")  # an old store, created world-readable
    (stores / "events.sqlite3").chmod(0o644)
    EventStore.open(settings).close()
    SessionStore.open(settings)
    for path in stores.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_old_event_stores_migrate_to_event_identities(isolated_home: Path) -> None:
    """A store made before events had identities (unique on user, product, type, time) keeps its events, and
    then keeps distinct events that share those four."""
    import sqlite3
    from datetime import UTC, datetime

    from aisle.personal.events import EventStore
    from aisle.types import BehaviourEvent, EventType

    path = isolated_home / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, user TEXT NOT NULL, product_id TEXT NOT NULL, type TEXT "
        "NOT NULL, ts REAL NOT NULL, query TEXT); CREATE UNIQUE INDEX events_unique ON events(user, product_id, "
        "type, ts); INSERT INTO events(user, product_id, type, ts) VALUES ('u1', 'p1', 'click', 1.0);"
    )
    old.commit()
    old.close()
    with EventStore(path, b"k" * 32) as store:
        assert store.count() == 1
        now = datetime.fromtimestamp(time.time(), UTC)
        clicks = [BehaviourEvent("ana", "p1", EventType.CLICK, now, event_id=f"e{i}") for i in range(2)]
        assert store.record(clicks) == 2 and store.record(clicks) == 0
    with EventStore(path, b"k" * 32) as store:  # reopening migrates nothing twice
        assert store.count() == 3


def test_an_image_root_lets_paths_outside_the_catalogue_in(tmp_path: Path, isolated_home: Path) -> None:
    from tests.conftest import jpeg_bytes

    shared = tmp_path / "shared-photos"
    shared.mkdir()
    (shared / "a.jpg").write_bytes(jpeg_bytes())
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "shop.csv").write_text(f"id,title,image\na,Blue Shirt,{shared / 'a.jpg'}\n")
    refused = run_aisle("catalog", "check", str(shop / "shop.csv"), "--json", env_home=isolated_home)
    assert json.loads(refused.stdout)["quarantine_reasons"] == {"image_outside_catalog": 1}
    allowed = run_aisle(
        "catalog", "check", str(shop / "shop.csv"), "--json", "--image-root", str(shared), env_home=isolated_home
    )
    assert json.loads(allowed.stdout)["valid_rows"] == 1
