"""Behaviour events in SQLite under AISLE_HOME: one writer path, transactions, WAL.

Shopper ids are pseudonymised with a keyed hash (HMAC-SHA256) before they touch the database, so raw ids
are never stored; the key is `Settings.events_key`, else a random key created once in
`AISLE_HOME/keys/events.key` with mode 0600. Events older than `events_retention_days` are deleted when
the store opens (and by `purge`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aisle.config import Settings, get_settings
from aisle.sqlite_files import connect, transaction
from aisle.types import BehaviourEvent, EventType

log = logging.getLogger(__name__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    product_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts REAL NOT NULL,
    query TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS events_unique ON events(user, product_id, type, ts);
CREATE INDEX IF NOT EXISTS events_user_ts ON events(user, ts);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
"""
MAX_ID_CHARS = 256


class EventError(ValueError):
    """An event that cannot be stored (empty ids, unknown type)."""


def _key_file(home: Path) -> Path:
    return home / "keys" / "events.key"


def load_key(settings: Settings) -> bytes:
    """The pseudonymisation key: the setting, else the key file (created once, owner-only)."""
    if settings.events_key:
        return settings.events_key.encode("utf-8")
    path = _key_file(settings.home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            log.info("created the event pseudonymisation key %s", path)
    return path.read_text().strip().encode("utf-8")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EventStore:
    """The behaviour-event store. Thread-safe: every write goes through one lock and one transaction."""

    def __init__(self, path: Path, key: bytes, retention_days: int | None = None) -> None:
        if not key:
            raise EventError("the pseudonymisation key is empty")
        self.path = path
        self._key = key
        self._lock = threading.Lock()
        self._conn = connect(path, SCHEMA)
        if retention_days is not None:
            self.purge(timedelta(days=retention_days))

    @classmethod
    def open(cls, settings: Settings | None = None) -> EventStore:
        """The store at AISLE_HOME/stores/events.sqlite3."""
        settings = settings or get_settings()
        return cls(settings.home / "stores" / "events.sqlite3", load_key(settings), settings.events_retention_days)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ids -------------------------------------------------------------------------------------------------
    def pseudonym(self, user: str) -> str:
        """The stored id of a raw shopper id (a keyed hash: stable, not reversible without the key)."""
        if not isinstance(user, str) or not user.strip():
            raise EventError("a shopper id must be non-empty text")
        return hmac.new(self._key, user.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    # -- writes ----------------------------------------------------------------------------------------------
    def record(self, events: Sequence[BehaviourEvent]) -> int:
        """Store events whose `user` is the raw shopper id; returns how many were new (re-records are ignored)."""
        rows = []
        for event in events:
            product = str(event.product_id).strip()
            if not product or len(product) > MAX_ID_CHARS:
                raise EventError(f"bad product id {event.product_id!r}")
            try:
                kind = EventType(event.type).value
            except ValueError:
                raise EventError(f"unknown event type {event.type!r}; use {', '.join(EventType)}") from None
            query = event.query.strip()[:1000] if event.query else None
            rows.append((self.pseudonym(event.user), product, kind, _utc(event.timestamp).timestamp(), query))
        if not rows:
            return 0
        with transaction(self._conn, self._lock) as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO events(user, product_id, type, ts, query) VALUES (?, ?, ?, ?, ?)", rows
            )
            return db.total_changes - before

    def purge(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Delete events older than `older_than`; returns how many."""
        cutoff = _utc(now or datetime.now(UTC)) - older_than
        with self._lock:
            cursor = self._conn.execute("DELETE FROM events WHERE ts < ?", (cutoff.timestamp(),))
            return cursor.rowcount

    def forget(self, user: str) -> int:
        """Delete every event of one shopper (a right-to-erasure request)."""
        with self._lock:
            return self._conn.execute("DELETE FROM events WHERE user = ?", (self.pseudonym(user),)).rowcount

    # -- reads -----------------------------------------------------------------------------------------------
    @staticmethod
    def _event(row: tuple) -> BehaviourEvent:
        user, product, kind, ts, query = row
        return BehaviourEvent(user, product, EventType(kind), datetime.fromtimestamp(ts, UTC), query)

    def history(self, user: str, limit: int = 50) -> list[BehaviourEvent]:
        """The shopper's latest `limit` events, oldest first (`user` in them is the pseudonym)."""
        with self._lock:  # one connection shared by threads: reads take the lock too
            rows = self._conn.execute(
                "SELECT user, product_id, type, ts, query FROM events WHERE user = ? ORDER BY ts DESC, id DESC LIMIT ?",
                (self.pseudonym(user), max(0, int(limit))),
            ).fetchall()
        return [self._event(r) for r in reversed(rows)]

    def sequences(self, types: Sequence[EventType] | None = None) -> Iterator[tuple[str, list[str]]]:
        """(pseudonym, product ids oldest first) for every shopper: the training data of the personal ranker."""
        sql = "SELECT user, product_id FROM events"
        params: list[str] = []
        if types:
            sql += f" WHERE type IN ({', '.join('?' * len(types))})"
            params = [EventType(t).value for t in types]
        sql += " ORDER BY user, ts, id"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        current: str | None = None
        items: list[str] = []
        for user, product in rows:
            if user != current:
                if current is not None:
                    yield current, items
                current, items = user, []
            items.append(product)
        if current is not None:
            yield current, items

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
