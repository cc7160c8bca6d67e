"""Behaviour logs as per-user item sequences, and the leave-last-out split.

Protocol (the same for every data set): each user's events are sorted by time (ties keep file order), an
item is kept at its first occurrence only (the task is "the next *new* item"), users with fewer than
`min_items` distinct items are dropped; the last item is the test target, the second last the validation
target, the rest is training. Ranking is over the full catalogue, minus the items the user already has.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, slots=True)
class Interactions:
    name: str
    item_ids: list[str]  # index i -> item id for i >= 1 (index 0 is padding: item_ids[0] == "")
    item_texts: list[str]  # the text whose embedding is the item's content vector ("" for index 0)
    users: list[str]
    sequences: list[np.ndarray]  # per user: item indices (>= 1), oldest first, distinct

    @property
    def n_items(self) -> int:
        return len(self.item_ids) - 1

    def fingerprint(self) -> str:
        digest = hashlib.sha1(self.name.encode())
        digest.update("\n".join(self.item_ids).encode())
        digest.update("\n".join(self.item_texts).encode())
        for seq in self.sequences:
            digest.update(seq.astype(np.int32).tobytes())
        return digest.hexdigest()[:16]

    def stats(self) -> dict[str, float | int]:
        lengths = [len(s) for s in self.sequences]
        return {
            "users": len(self.sequences),
            "items": self.n_items,
            "interactions": int(sum(lengths)),
            "mean_length": round(float(np.mean(lengths)), 2) if lengths else 0.0,
        }


def build(
    name: str,
    rows: Iterable[tuple[str, str, float]],
    texts: dict[str, str],
    min_items: int = 3,
) -> Interactions:
    """From (user, item, time) rows (any order; ties keep the given order) and item texts."""
    by_user: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for n, (user, item, ts) in enumerate(rows):
        by_user[user].append((ts, n, item))
    ordered: dict[str, list[str]] = {}
    for user, events in by_user.items():
        events.sort()
        items = list(dict.fromkeys(item for _, _, item in events))
        if len(items) >= min_items:
            ordered[user] = items
    item_ids = [""] + sorted({i for items in ordered.values() for i in items})
    index = {item: i for i, item in enumerate(item_ids)}
    users = sorted(ordered)
    return Interactions(
        name=name,
        item_ids=item_ids,
        item_texts=[""] + [texts.get(i, i) for i in item_ids[1:]],
        users=users,
        sequences=[np.array([index[i] for i in ordered[u]], dtype=np.int64) for u in users],
    )


def load_movielens(folder: Path, min_items: int = 3) -> Interactions:
    """ml-100k (RecBole atomic files): item text = "title (year). genres"."""
    from aisle.personal.importers import movielens_ratings

    texts: dict[str, str] = {}
    item_file = folder / "ml-100k.item"
    if item_file.is_file():
        with item_file.open(encoding="utf-8", errors="replace") as handle:
            for n, line in enumerate(handle):
                parts = line.rstrip("\n").split("\t")
                if n == 0 or len(parts) < 4:
                    continue
                texts[parts[0]] = f"{parts[1]} ({parts[2]}). {', '.join(parts[3].split())}"
    rows = [(u, i, float(ts)) for u, i, _r, ts in movielens_ratings(folder)]
    return build("ml-100k", rows, texts, min_items)


def load_online_retail(path: Path, min_items: int = 3) -> Interactions:
    """Online Retail purchases after the data-quality pass; item text = its most frequent description."""
    from aisle.catalog.loaders.online_retail import load_online_retail_transactions

    if path.is_dir():
        path = path / "online_retail_sample.csv"
    purchases = load_online_retail_transactions(path).purchases
    descriptions: dict[str, Counter[str]] = defaultdict(Counter)
    for p in purchases:
        descriptions[p.stock_code][p.description] += 1
    texts = {code: c.most_common(1)[0][0] for code, c in descriptions.items()}
    rows = [(p.customer_id, p.stock_code, p.timestamp.timestamp()) for p in purchases]
    return build("online_retail", rows, texts, min_items)


DATASETS = ("ml-100k", "online_retail")


def load_named(name: str, path: Path) -> Interactions:
    """A behaviour data set by name: ml-100k (alias movielens) or online_retail."""
    if name in ("ml-100k", "movielens"):
        return load_movielens(path)
    if name == "online_retail":
        return load_online_retail(path)
    raise ValueError(f"unknown data set {name!r}: use one of {', '.join(DATASETS)}")


def from_sequences(name: str, sequences: Iterable[tuple[str, Sequence[str]]], min_items: int = 3) -> Interactions:
    """From (user, item ids oldest first) pairs, e.g. `EventStore.sequences()`; texts are the ids."""
    rows = ((user, item, float(t)) for user, items in sequences for t, item in enumerate(items))
    return build(name, rows, {}, min_items)


@dataclass(frozen=True, slots=True)
class Split:
    """Leave-last-out: `train` sequences (all but the last two), validation and test targets."""

    train: list[np.ndarray]
    valid_target: np.ndarray
    test_target: np.ndarray

    def valid_history(self, u: int) -> np.ndarray:
        return self.train[u]

    def test_history(self, u: int) -> np.ndarray:
        return np.append(self.train[u], self.valid_target[u])


def leave_last_out(data: Interactions) -> Split:
    if any(len(s) < 3 for s in data.sequences):
        raise ValueError("leave-last-out needs at least 3 items per user")
    return Split(
        train=[s[:-2] for s in data.sequences],
        valid_target=np.array([s[-2] for s in data.sequences]),
        test_target=np.array([s[-1] for s in data.sequences]),
    )
