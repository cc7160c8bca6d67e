"""One process owns an embedded index folder. The owner holds an exclusive lock on a file in the folder with
its process id written in it, so that a second process (`aisle search` while `aisle serve` runs, two ingests)
is told in one line who holds the index and what to do, instead of failing deep inside the engine."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = ".aisle-owner.lock"
_HELD: dict[str, IO[str]] = {}  # folder -> the open, locked file (kept for the life of the process)


class IndexBusy(RuntimeError):
    """Another process owns the embedded index folder."""


def claim(folder: Path) -> None:
    """Take the folder for this process (idempotent), or raise IndexBusy naming the process that holds it."""
    key = str(folder.resolve())
    if key in _HELD:
        return
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held open while the process runs
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise IndexBusy(
            f"the embedded index at {folder} is in use by process {owner} (a running `aisle serve`, `aisle demo` "
            "or ingest): stop it, use its REST API instead, or point AISLE_QDRANT_URL at a Qdrant server"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _HELD[key] = handle


def release(folder: Path) -> None:
    """Give the folder up (tests, and clients that are closed before the process ends)."""
    handle = _HELD.pop(str(folder.resolve()), None)
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
