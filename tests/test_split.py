"""The dev/test split is a stable hash of the query id, roughly 50/50."""

from __future__ import annotations

import hashlib

import pytest

from aisle.catalog.split import in_split, split_of


def test_split_is_stable_and_defined_by_sha1() -> None:
    for qid in ("q-0123456789", "7", "my-query"):
        expected = "dev" if hashlib.sha1(qid.encode()).digest()[0] % 2 == 0 else "test"
        assert split_of(qid) == split_of(qid) == expected


def test_split_is_roughly_balanced() -> None:
    qids = [f"q-{n}" for n in range(2000)]
    dev = in_split(qids, "dev")
    assert 0.45 < len(dev) / len(qids) < 0.55
    assert sorted(dev + in_split(qids, "test")) == sorted(qids) == sorted(in_split(qids, "all"))


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        in_split(["q"], "train")
