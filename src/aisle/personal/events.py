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
import secrets
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aisle.config import Settings, get_settings
from aisle.files import private_file, read_private_key
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
    query TEXT,
    event_id TEXT
);
CREATE INDEX IF NOT EXISTS events_user_ts ON events(user, ts);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
"""
# Every event has an identity: the sender's id (scoped to the shopper) or, when it sent none, its content.
# Stores made before identities existed were unique on (user, product, type, ts); `_migrate` moves them over.
IDENTITY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS events_identity ON events(event_id)"
MAX_ID_CHARS = 256


class EventError(ValueError):
    """An event that cannot be stored (empty ids, unknown type)."""


def _key_file(home: Path) -> Path:
    return home / "keys" / "events.key"


def load_key(settings: Settings) -> bytes:
    """The pseudonymisation key: the setting, else the key file (created once, owner-only; refused when other
    users can read it)."""
    if settings.events_key:
        return settings.events_key.encode("utf-8")
    path = _key_file(settings.home)
    if not path.exists():
        private_file(path, lambda: secrets.token_hex(32))
        log.info("created the event pseudonymisation key %s", path)
    return read_private_key(path)


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
        self._migrate()
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

    @staticmethod
    def identity(user: str, product: str, kind: str, ts: float, query: str | None, event_id: str | None) -> str:
        """The stored identity of an event (`user` is the pseudonym): its sender's id within that shopper's
        events, else a hash of its content, so re-importing a log is idempotent."""
        parts = ("id", user, event_id) if event_id else ("content", user, product, kind, repr(ts), query or "")
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]

    def _migrate(self) -> None:
        """Give events stored before identities existed their content identity (one transaction)."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(events)")}
        with transaction(self._conn, self._lock) as db:
            if "event_id" not in columns:
                db.execute("ALTER TABLE events ADD COLUMN event_id TEXT")
            missing = db.execute("SELECT id, user, product_id, type, ts, query FROM events WHERE event_id IS NULL")
            updates = [(self.identity(u, p, k, ts, q, None), rid) for rid, u, p, k, ts, q in missing.fetchall()]
            db.executemany("UPDATE events SET event_id = ? WHERE id = ?", updates)
            db.execute("DROP INDEX IF EXISTS events_unique")
            db.execute(IDENTITY_INDEX)

    # -- writes ----------------------------------------------------------------------------------------------
    def record(self, events: Sequence[BehaviourEvent]) -> int:
        """Store events whose `user` is the raw shopper id; returns how many were new. An event whose identity
        is already stored (a retry with the same `event_id`, or a re-import of the same content) is skipped."""
        rows = []
        for event in events:
            product = str(event.product_id).strip()
            if not product or len(product) > MAX_ID_CHARS:
                raise EventError(f"bad product id {event.product_id!r}")
            try:
                kind = EventType(event.type).value
            except ValueError:
                raise EventError(f"unknown event type {event.type!r}; use {', '.join(EventType)}") from None
            if event.event_id is not None and not (0 < len(event.event_id.strip()) <= MAX_ID_CHARS):
                raise EventError(f"bad event id {event.event_id!r}")
            query = event.query.strip()[:1000] if event.query else None
            user, ts = self.pseudonym(event.user), _utc(event.timestamp).timestamp()
            sender_id = event.event_id.strip() if event.event_id else None
            rows.append((user, product, kind, ts, query, self.identity(user, product, kind, ts, query, sender_id)))
        if not rows:
            return 0
        with transaction(self._conn, self._lock) as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO events(user, product_id, type, ts, query, event_id) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
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
        return self.history_of(self.pseudonym(user), limit)

    def history_of(self, pseudonym: str, limit: int = 50, before: datetime | None = None) -> list[BehaviourEvent]:
        """`history` by stored (pseudonymised) id, optionally only the events before a time."""
        cutoff = _utc(before).timestamp() if before is not None else float("inf")
        with self._lock:  # one connection shared by threads: reads take the lock too
            rows = self._conn.execute(
                "SELECT user, product_id, type, ts, query FROM events WHERE user = ? AND ts < ? "
                "ORDER BY ts DESC, id DESC LIMIT ?",
                (pseudonym, cutoff, max(0, int(limit))),
            ).fetchall()
        return [self._event(r) for r in reversed(rows)]

    def logged_searches(self, types: Sequence[EventType] = ()) -> list[BehaviourEvent]:
        """Events that carry the query they came from (a click or purchase on a search result), oldest first:
        the relevance evidence of real searches."""
        sql = "SELECT user, product_id, type, ts, query FROM events WHERE query IS NOT NULL AND query != ''"
        params: list[str] = []
        if types:
            sql += f" AND type IN ({', '.join('?' * len(types))})"
            params = [EventType(t).value for t in types]
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY ts, id", params).fetchall()
        return [self._event(r) for r in rows]

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
