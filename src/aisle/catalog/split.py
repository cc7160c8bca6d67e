"""The fixed query-level split: a stable hash of the query id sends each query to `dev` or `test` (50/50).

Everything that trains or tunes uses `dev`; reports give `dev`, `test` and `all`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

Split = Literal["dev", "test"]
SPLITS: tuple[str, ...] = ("dev", "test", "all")


def split_of(qid: str) -> Split:
    """`dev` or `test` for a query id; the same on every machine and run (sha1, not Python's hash)."""
    return "dev" if hashlib.sha1(qid.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def in_split(qids: Iterable[str], split: str) -> list[str]:
    """The query ids of `split` ('dev', 'test' or 'all'), in their given order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return [q for q in qids if split == "all" or split_of(q) == split]
