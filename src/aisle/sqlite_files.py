"""The embedded SQLite stores' shared set-up: one connection per store file, WAL, explicit transactions.

Each store (behaviour events, orders, chat sessions) keeps one connection shared by the server's threads and
serialises its use with a lock; writes go through `transaction`, so a failure rolls back everything it did.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aisle.files import private_sqlite


def connect(path: Path | str, schema: str) -> sqlite3.Connection:
    """A connection to `path` (created owner-only with its folder when new; ":memory:" works too) with `schema`
    applied. The stores hold personal data (orders, e-mails, chat transcripts, behaviour), so 0600."""
    if str(path) != ":memory:":
        private_sqlite(Path(path))
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at checkpoints, never corrupt
    db.executescript(schema)
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT` under `lock`; `ROLLBACK` when the body raises."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
