from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from aisle.files import atomic_write, save_array


def test_atomic_write_never_leaves_half_a_file(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"

    def crash(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise RuntimeError("killed mid-export")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash)
    assert not target.exists() and os.listdir(tmp_path) == []
    atomic_write(target, lambda tmp: tmp.write_bytes(b"whole"))
    with pytest.raises(RuntimeError):
        atomic_write(target, crash)
    assert target.read_bytes() == b"whole" and os.listdir(tmp_path) == ["model.onnx"]


def test_save_array_writes_exactly_the_target_and_loads_back(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "features.npy"
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert save_array(target, array) == target
    np.testing.assert_array_equal(np.load(target), array)
    assert os.listdir(target.parent) == ["features.npy"]  # no `.tmp.npy` left beside it
