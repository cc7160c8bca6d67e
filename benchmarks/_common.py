"""Helpers shared by the benchmarks: locate the shared data, time interleaved repetitions."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aisle.config import Settings


def shared_data_or_exit() -> Path:
    folder = Settings().shared_data_dir()
    if folder is None:
        sys.exit("benchmarks need ../shared/data (or AISLE_SHARED_DATA)")
    return folder


def interleaved(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Run each variant `repeats` times, round-robin, so that machine noise hits them all alike."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)
