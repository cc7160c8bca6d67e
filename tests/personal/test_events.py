"""EventStore: pseudonymised ids, key file, retention, idempotence; importers of real log formats."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aisle.config import Settings
from aisle.personal.events import EventError, EventStore
from aisle.personal.importers import import_events
from aisle.types import BehaviourEvent, EventType

NOW = datetime.now(UTC).replace(microsecond=0)


def _events(user: str, products: list[str], start: datetime = NOW) -> list[BehaviourEvent]:
    return [
        BehaviourEvent(user, p, EventType.CLICK, start - timedelta(minutes=len(products) - i), query="shoes")
        for i, p in enumerate(products)
    ]


def test_history_round_trip_oldest_first_with_limit(settings: Settings) -> None:
    with EventStore.open(settings) as store:
        assert store.record(_events("alice", ["a", "b", "c", "d"])) == 4
        history = store.history("alice", limit=3)
        assert [e.product_id for e in history] == ["b", "c", "d"]
        assert all(e.user == store.pseudonym("alice") != "alice" for e in history)
        assert history[-1].query == "shoes" and history[-1].type is EventType.CLICK
        assert store.history("bob") == []


def test_raw_ids_never_reach_the_database(settings: Settings) -> None:
    with EventStore.open(settings) as store:
        store.record(_events("alice.secret@example.com", ["p1"]))
        path = store.path
    users = [r[0] for r in sqlite3.connect(path).execute("SELECT user FROM events")]
    assert users and "alice.secret@example.com" not in users
    blob = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert b"alice.secret" not in blob


def test_key_file_is_created_once_owner_only_and_reused(settings: Settings) -> None:
    with EventStore.open(settings) as store:
        first = store.pseudonym("alice")
    key = settings.home / "keys" / "events.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with EventStore.open(settings) as store:
        assert store.pseudonym("alice") == first
    with EventStore.open(settings.model_copy(update={"events_key": "another key"})) as store:
        assert store.pseudonym("alice") != first


def test_wal_and_idempotent_records(settings: Settings) -> None:
    with EventStore.open(settings) as store:
        events = _events("alice", ["a", "b"])
        assert store.record(events) == 2
        assert store.record(events) == 0
        assert store.count() == 2
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_retention_and_forget(settings: Settings) -> None:
    with EventStore.open(settings) as store:
        store.record(_events("alice", ["old"], NOW - timedelta(days=400)) + _events("alice", ["new"]))
        assert store.purge(timedelta(days=365)) == 1
        assert [e.product_id for e in store.history("alice")] == ["new"]
        store.record(_events("alice", ["old"], NOW - timedelta(days=400)))
    with EventStore.open(settings) as store:  # retention applies on open (events_retention_days=365)
        assert [e.product_id for e in store.history("alice")] == ["new"]
        assert store.forget("alice") == 1 and store.count() == 0


@pytest.mark.parametrize(
    "event",
    [
        BehaviourEvent("alice", "", EventType.VIEW, NOW),
        BehaviourEvent("", "p1", EventType.VIEW, NOW),
        BehaviourEvent("alice", "p1", "teleport", NOW),  # type: ignore[arg-type]
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(settings: Settings, event: BehaviourEvent) -> None:
    with EventStore.open(settings) as store:
        with pytest.raises(EventError):
            store.record([*_events("bob", ["ok"]), event])
        assert store.count() == 0


def test_sequences_group_by_user_in_time_order(settings: Settings) -> None:
    with EventStore.open(settings) as store:
        store.record(_events("alice", ["a", "b", "c"]) + _events("bob", ["x", "y"]))
        sequences = dict(store.sequences())
        assert sequences[store.pseudonym("alice")] == ["a", "b", "c"]
        assert sequences[store.pseudonym("bob")] == ["x", "y"]


def test_ubi_import_maps_actions_and_queries(settings: Settings, tmp_path: Path) -> None:
    events = tmp_path / "ubi_events.jsonl"
    queries = tmp_path / "ubi_queries.jsonl"
    recent = (NOW - timedelta(days=1)).isoformat()
    rows = [
        {"action_name": "click", "client_id": "c1", "query_id": "q1", "timestamp": recent,
         "event_attributes": {"object": {"object_id": "p1", "object_id_field": "sku"}}},
        {"action_name": "add_to_cart", "user_id": "u9", "client_id": "c2", "timestamp": int(NOW.timestamp() * 1000),
         "event_attributes": {"object": {"object_id": "p2"}}},
        {"action_name": "on_search", "client_id": "c1", "timestamp": recent, "message": "shoes"},
        {"action_name": "click", "client_id": "c1", "timestamp": recent, "event_attributes": {}},
    ]  # fmt: skip
    events.write_text("\n".join(json.dumps(r) for r in rows))
    queries.write_text(json.dumps({"query_id": "q1", "user_query": "red shoes"}))
    with EventStore.open(settings) as store:
        summary = import_events(store, "ubi", events, queries)
        assert summary.stored == 2
        assert summary.skipped == {"not_a_product_action": 1, "missing_user_object_or_time": 1}
        (click,) = store.history("c1")
        assert (click.product_id, click.type, click.query) == ("p1", EventType.CLICK, "red shoes")
        assert store.history("u9")[0].type is EventType.ADD_TO_CART


def test_online_retail_and_movielens_importers(settings: Settings, tmp_path: Path) -> None:
    retail = tmp_path / "retail.csv"
    recent = (NOW - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    retail.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        f"536365,85123A,WHITE HANGING HEART,6,{recent},2.55,17850.0,United Kingdom\n"
        f"C536379,D,Discount,-1,{recent},27.5,14527.0,United Kingdom\n"
        f"536366,22633,HAND WARMER,6,{recent},1.85,,United Kingdom\n"
    )
    movielens = tmp_path / "ml"
    movielens.mkdir()
    ts = int((NOW - timedelta(days=3)).timestamp())
    (movielens / "ml-100k.inter").write_text(
        f"user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t{ts}\n196\t302\t4\t{ts + 5}\n"
    )
    with EventStore.open(settings) as store:
        assert import_events(store, "online_retail", retail).stored == 1
        assert [e.product_id for e in store.history("online_retail:17850")] == ["85123A"]
        assert import_events(store, "movielens", movielens).stored == 2
        assert [e.product_id for e in store.history("ml-100k:196")] == ["242", "302"]
        with pytest.raises(ValueError, match="unknown event log"):
            import_events(store, "clickstream", retail)
