"""One QdrantClient per location: embedded on disk by default, a server or cluster with AISLE_QDRANT_URL.

Embedded Qdrant allows a single client per folder per process, so clients are cached here.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any

from aisle.config import Settings, get_settings
from aisle.index.owner import claim, release

_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()


def open_client(settings: Settings | None = None, *, location: str | None = None) -> Any:
    """A QdrantClient for `location` (':memory:', a folder), else the configured server or folder."""
    from qdrant_client import QdrantClient

    settings = settings or get_settings()
    if location is None and settings.qdrant_url:
        key = f"url:{settings.qdrant_url}"
        factory = lambda: QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key)  # noqa: E731
    else:
        where = location or str(settings.qdrant_path)
        key = f"path:{where}"
        if where == ":memory:":
            return QdrantClient(location=":memory:")  # each in-memory client is its own store
        claim(Path(where))  # one process owns the folder; another is told which process holds it
        factory = lambda: QdrantClient(path=where, force_disable_check_same_thread=True)  # noqa: E731
    with _LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = factory()
        return _CLIENTS[key]


def close_clients() -> None:
    """Close every cached client (tests and process exit)."""
    with _LOCK:
        for key, client in _CLIENTS.items():
            client.close()
            if key.startswith("path:"):
                release(Path(key.removeprefix("path:")))
        _CLIENTS.clear()


atexit.register(close_clients)  # embedded clients flush and unlock cleanly, before interpreter teardown
