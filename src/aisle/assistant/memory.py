"""Conversation memory per session in SQLite: the redacted transcript and the state that follow-ups resolve
against (the last results shown, the order in focus, the orders this session proved it owns)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisle.assistant.redact import redact
from aisle.config import Settings, get_settings
from aisle.sqlite_files import connect, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, user TEXT, created REAL NOT NULL, updated REAL NOT NULL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL, n INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (session_id, n)
);
"""
HISTORY_TURNS = 6


@dataclass
class SessionState:
    """What a session remembers between turns (JSON in the sessions table)."""

    last_products: list[dict[str, Any]] = field(default_factory=list)
    last_query: str = ""
    last_filters: dict[str, Any] = field(default_factory=dict)
    order_id: str | None = None
    verified_orders: list[str] = field(default_factory=list)
    focus: dict[str, Any] | None = None  # the product "it" refers to
    last_intent: str | None = None
    last_question: str = ""  # the last policy question ("and express?" continues it)

    def to_json(self) -> dict[str, Any]:
        return {
            "last_products": self.last_products,
            "last_query": self.last_query,
            "last_filters": self.last_filters,
            "order_id": self.order_id,
            "verified_orders": self.verified_orders,
            "focus": self.focus,
            "last_intent": self.last_intent,
            "last_question": self.last_question,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class SessionStore:
    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = connect(path, _SCHEMA)

    @classmethod
    def open(cls, settings: Settings | None = None) -> SessionStore:
        settings = settings or get_settings()
        return cls(settings.home / "stores" / "chat_sessions.sqlite")

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex[:16]

    def resume(self, session_id: str | None, user: str | None) -> tuple[str, SessionState]:
        """The session to continue and its state, from one read: a new, empty one when there is no id or the id
        belongs to someone else (another customer, or anonymous when `user` is signed in, or the reverse)."""
        if session_id is not None:
            with self._lock:
                row = self._db.execute(
                    "SELECT user, state FROM sessions WHERE session_id = ?", (session_id,)
                ).fetchone()
            if row is None:
                return session_id, SessionState()
            if row[0] == user:  # a session is its subject's: anonymous ones resume anonymously only
                return session_id, SessionState.from_json(json.loads(row[1]))
        return self.new_id(), SessionState()

    def history(self, session_id: str, limit: int = HISTORY_TURNS) -> list[tuple[str, str]]:
        """The last `limit` (role, redacted text) turns, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT role, text FROM turns WHERE session_id = ? ORDER BY n DESC LIMIT ?", (session_id, limit)
            ).fetchall()
        return [(r, t) for r, t in reversed(rows)]

    def save_turn(
        self, session_id: str, user: str | None, state: SessionState, message: str, reply: str, meta: dict[str, Any]
    ) -> None:
        """Store the user message and the reply (both redacted) and the new state, in one transaction."""
        now = time.time()
        with transaction(self._db, self._lock) as db:
            db.execute(
                "INSERT INTO sessions VALUES (?,?,?,?,?) ON CONFLICT(session_id) DO UPDATE SET updated = "
                "excluded.updated, state = excluded.state",
                (session_id, user, now, now, json.dumps(state.to_json())),
            )
            last = "SELECT COALESCE(MAX(n), -1) FROM turns WHERE session_id = ?"
            (n,) = db.execute(last, (session_id,)).fetchone()
            db.execute(
                "INSERT INTO turns VALUES (?,?,?,?,?,?)", (session_id, n + 1, "user", redact(message), "{}", now)
            )
            db.execute(
                "INSERT INTO turns VALUES (?,?,?,?,?,?)",
                (session_id, n + 2, "assistant", redact(reply), json.dumps(meta, default=str), now),
            )

    def transcript(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT n, role, text, meta FROM turns WHERE session_id = ? ORDER BY n", (session_id,)
            ).fetchall()
        return [{"n": n, "role": role, "text": text, "meta": json.loads(meta)} for n, role, text, meta in rows]
