"""One engine per location: Qdrant Edge under AISLE_HOME by default, a Qdrant server or cluster with
AISLE_QDRANT_URL. Engines are cached: an embedded shard may be opened once per process, and one process owns
the embedded folder (`aisle.index.owner`)."""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from aisle.config import Settings, get_settings
from aisle.index.engine import Engine
from aisle.index.owner import claim, release

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def open_engine(settings: Settings | None = None, *, location: Path | None = None) -> Engine:
    """The engine for `location` (an Edge folder), else the configured server, else AISLE_HOME's Edge folder."""
    settings = settings or get_settings()
    if location is None and settings.qdrant_url:
        key = f"url:{settings.qdrant_url}"
        with _LOCK:
            if key not in _ENGINES:
                from qdrant_client import QdrantClient

                from aisle.index.server import ServerEngine

                client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key)
                _ENGINES[key] = ServerEngine(client, where=settings.qdrant_url)
            return _ENGINES[key]
    from aisle.index.edge import EdgeEngine

    root = (location or settings.edge_path).resolve()
    key = f"edge:{root}"
    with _LOCK:
        if key not in _ENGINES:
            claim(root)  # one process owns the folder; another is told which process holds it
            legacy = settings.legacy_qdrant_path if location is None else None
            _ENGINES[key] = EdgeEngine(root, legacy_root=legacy)
        return _ENGINES[key]


def close_engines() -> None:
    """Close every cached engine (tests and process exit)."""
    with _LOCK:
        for key, engine in _ENGINES.items():
            engine.close()
            if key.startswith("edge:"):
                release(Path(key.removeprefix("edge:")))
        _ENGINES.clear()


atexit.register(close_engines)  # shards flush and unlock cleanly, before interpreter teardown
