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
