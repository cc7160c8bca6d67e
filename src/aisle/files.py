"""Writing files so that a crash never leaves half of one behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np


def atomic_write(target: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` for a temporary path beside `target`, then move it into place; on failure, clean up."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def save_array(target: Path, array: np.ndarray) -> Path:
    """`np.save` to exactly `target`, atomically (through a file object: np.save would append `.npy` to a
    temporary name)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.save(handle, array)

    return atomic_write(target, write)


class InsecureFileError(ValueError):
    """A file that holds a secret but can be read by other users of the machine."""


def private_dir(folder: Path) -> Path:
    """`folder`, created owner-only (0700) when new; an existing one keeps its mode."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def private_file(path: Path, content: Callable[[], str]) -> Path:
    """Create `path` owner-only (0600) with `content()` unless it exists (a second process may win the race)."""
    if path.exists():
        return path
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content())
    return path


def check_private(path: Path) -> None:
    """Refuse a secret file that users other than its owner can read or write (the way ssh refuses keys)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InsecureFileError(
            f"{path} holds a secret but its mode is {mode:o} (readable by other users): run `chmod 600 {path}`"
        )


def read_private_key(path: Path) -> bytes:
    """The stripped content of a secret key file, after `check_private`."""
    check_private(path)
    key = path.read_bytes().strip()
    if not key:
        raise InsecureFileError(f"{path} is empty")
    return key


def private_sqlite(path: Path) -> Path:
    """Make a SQLite store owner-only before it is opened: the database file is created 0600 (SQLite gives its
    -wal and -shm files the database's mode) and an existing store's files are tightened to 0600."""
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists() and part.stat().st_mode & 0o077:
            part.chmod(0o600)
    return path
