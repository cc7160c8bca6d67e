"""A shopper's taste in the catalogue's own attributes: which genders, article types, colours, brands... their
history leans to, as a lift over the candidates in front of them.

For each attribute field the score of a candidate's value v is log((h(v) + a*q(v)) / ((H + a) * q(v))): h(v)
is the history's weight on v (event weight x recency), H the history's total, q(v) v's share among the
candidates (the pool the shopper chooses from), a a smoothing weight. A value the history never touched gets
a small negative lift, a value it keeps coming back to a large positive one, and a field where every
candidate agrees (the query fixed it) contributes nothing. Fields the query named are left out, so "red
dress for women" is never turned into a men's dress by a men's history. New products need no training:
their attributes are in their payload (the cold start).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SMOOTHING = 2.0
# how a value reads in a reason: gender words become possessives ("women's casual shoes")
_POSSESSIVE = {"men": "men's", "women": "women's", "boys": "boys'", "girls": "girls'", "unisex": "unisex"}


def field_values(product: Mapping[str, object], fields: Iterable[str]) -> dict[str, str]:
    """The product's text value for each field it has (top-level payload keys or its `attributes`)."""
    nested = product.get("attributes")
    attributes = nested if isinstance(nested, Mapping) else {}
    out = {}
    for name in fields:
        value = product.get(name, attributes.get(name))
        if isinstance(value, str) and value.strip():
            out[name] = value
    return out


@dataclass(frozen=True, slots=True)
class TasteProfile:
    """Weighted value counts per field from a history (see the module docstring)."""

    counts: dict[str, dict[str, float]]  # field -> value -> weight
    total: float

    @classmethod
    def build(cls, products: Sequence[Mapping[str, str]], weights: Sequence[float]) -> TasteProfile:
        """`products`: the history's field values (see `field_values`), oldest first, with their weights."""
        counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for values, weight in zip(products, weights, strict=True):
            for name, value in values.items():
                counts[name][value] += float(weight)
        return cls({k: dict(v) for k, v in counts.items()}, float(sum(weights)))

    def lifts(self, candidates: Sequence[Mapping[str, str]], skip: Iterable[str] = ()) -> np.ndarray:
        """Per candidate, the fields' log-lifts averaged with weights = how far the history's (smoothed)
        distribution of each field departs from the pool's (KL divergence): a history that is all "Women"
        speaks through gender, one spread over thirty brands hardly through brand. Fields the history lacks
        or the query fixed are left out."""
        skipped = set(skip)
        fields = [f for f in self.counts if f not in skipped]
        out = np.zeros(len(candidates), dtype=np.float64)
        if not fields or not candidates or self.total <= 0:
            return out
        weights = 0.0
        for name in fields:
            pool = Counter(value for c in candidates if (value := c.get(name)) is not None)
            seen = self.counts[name]
            size = sum(pool.values())
            lift: dict[str | None, float] = {}
            divergence = 0.0
            for value, count in pool.items():
                share = count / size
                smoothed = (seen.get(value, 0.0) + SMOOTHING * share) / (self.total + SMOOTHING)
                lift[value] = math.log(smoothed / share)
                divergence += smoothed * lift[value]
            if divergence <= 0:
                continue
            out += divergence * np.array([lift.get(c.get(name), 0.0) for c in candidates])
            weights += divergence
        return out / weights if weights > 0 else out


def describe(values: Mapping[str, str], order: Sequence[str]) -> str:
    """Attribute values as a shopper reads them, in `order`: {"gender": "Women", "article_type": "Casual
    Shoes"} -> "women's casual shoes"."""
    words = []
    for name in order:
        value = values.get(name)
        if value:
            lowered = value.lower()
            words.append(_POSSESSIVE.get(lowered, lowered) if name == "gender" else lowered)
    return " ".join(words)
