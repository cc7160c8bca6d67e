"""How much a shopper's history moves a search: weights learnt per (history length, query specificity) cell.

A shopper with two events and a query that names colour, type and gender ("red dress for women") should
barely move the ranking; twenty events and "shoes" should move it a lot. `aisle eval personal-search` learns
one pair of weights (taste = attribute lift, vector = content/sequential score) per cell on its dev shoppers
and saves the table; a collection without a learnt table uses `DEFAULT_TABLE`, which is the table that run
learnt on the Myntra catalogue (see docs/personal-search.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aisle.files import atomic_write

HISTORY_BUCKETS: tuple[tuple[str, int, int | None], ...] = (("1-4", 1, 4), ("5-20", 5, 20), ("21+", 21, None))
QUERY_KINDS = ("ambiguous", "partly", "specified")


def history_bucket(events: int) -> str:
    """ "0" for no history, else the bucket label of `events`."""
    for label, low, high in HISTORY_BUCKETS:
        if events >= low and (high is None or events <= high):
            return label
    return "0"


def query_kind(named: int) -> str:
    """How specific a query is, from how many attributes the shopper named: "shoes" 1, "black shoes" 2,
    "red dress for women" 3."""
    return QUERY_KINDS[min(max(named, 1), 3) - 1]


@dataclass(frozen=True, slots=True)
class BlendWeights:
    taste: float
    vector: float


@dataclass(frozen=True, slots=True)
class BlendTable:
    cells: dict[str, BlendWeights]  # "<history bucket>|<query kind>" -> weights
    source: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)

    def weights(self, events: int, named: int) -> BlendWeights:
        return self.cells.get(f"{history_bucket(events)}|{query_kind(named)}", BlendWeights(0.0, 0.0))

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "cells": {k: asdict(v) for k, v in self.cells.items()}, **self.extra}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BlendTable:
        cells = {str(k): BlendWeights(float(v["taste"]), float(v["vector"])) for k, v in data["cells"].items()}
        extra = {k: v for k, v in data.items() if k not in ("source", "cells")}
        return cls(cells, str(data.get("source", "learnt")), extra)

    def save(self, path: Path) -> Path:
        text = json.dumps(self.to_json(), indent=2, sort_keys=True)
        return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: Path) -> BlendTable:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


# `aisle eval personal-search` (400 shoppers, seed 0) on the Myntra eval collection, 591 dev queries. Heavy
# weights are safe because a hit without what the query named is never lifted (PersonalSignals.personal).
_MYNTRA_LEARNT = {
    "1-4|ambiguous": (2.0, 8.0),
    "1-4|partly": (1.0, 8.0),
    "1-4|specified": (0.0, 8.0),
    "5-20|ambiguous": (0.5, 2.0),
    "5-20|partly": (0.25, 8.0),
    "5-20|specified": (4.0, 8.0),
    "21+|ambiguous": (2.0, 8.0),
    "21+|partly": (0.5, 8.0),
    "21+|specified": (4.0, 8.0),
}
DEFAULT_TABLE = BlendTable(
    {cell: BlendWeights(*weights) for cell, weights in _MYNTRA_LEARNT.items()},
    source="default: learnt on the Myntra dev shoppers",
)
