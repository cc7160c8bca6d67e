"""Engines for tests: Qdrant Edge in a fresh folder (the product's default), and qdrant-client's local mode
(the server backend's stand-in, since no Qdrant server runs here)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from aisle.index.edge import EdgeEngine
from aisle.index.server import ServerEngine


def fresh_edge(folder: Path | None = None) -> EdgeEngine:
    """An Edge engine in `folder`, else in a temporary folder removed at exit."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="aisle-edge-"))
        atexit.register(shutil.rmtree, folder, True)
    engine = EdgeEngine(folder)
    atexit.register(engine.close)
    return engine


def local_mode() -> ServerEngine:
    """The server backend over qdrant-client's in-memory local mode."""
    from qdrant_client import QdrantClient

    return ServerEngine(QdrantClient(location=":memory:"))
