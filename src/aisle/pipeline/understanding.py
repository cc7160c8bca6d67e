"""Query understanding from the catalogue itself: attribute values the collection actually has (colours,
genders, article types, brands, ...) are recognised in the query, and so are price phrases ("under 50").

Nothing here is a hand-written list of colours or types: the vocabulary is the collection's facet values.
Matching is on stems, longest span first, so "navy blue t-shirts" finds colour "Navy Blue" (not "Blue")
and article type "Tshirts".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aisle.encoders.sparse import STOP_WORDS, tokenize

_NUMBER = r"[$£€₹]?\s*(\d+(?:\.\d+)?)"
_PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bbetween\s+{_NUMBER}\s+and\s+{_NUMBER}", re.I), "range"),
    (re.compile(rf"{_NUMBER}\s*(?:-|to)\s*{_NUMBER}\s*(?:dollars|pounds|euros|rupees|rs)?\b", re.I), "range"),
    (re.compile(rf"\b(?:under|below|less than|cheaper than|up to|upto|max|at most)\s+{_NUMBER}", re.I), "max"),
    (re.compile(rf"<\s*{_NUMBER}", re.I), "max"),
    (re.compile(rf"\b(?:over|above|more than|at least|min)\s+{_NUMBER}", re.I), "min"),
    (re.compile(rf">\s*{_NUMBER}", re.I), "min"),
]
MAX_VALUES_PER_FIELD = 5_000  # a field with more distinct values is an identifier, not an attribute


@dataclass(frozen=True, slots=True)
class Understood:
    """What the query names: {field: catalogue value}, an optional price range, and the rest of the text."""

    attributes: dict[str, str] = field(default_factory=dict)
    price: tuple[float | None, float | None] | None = None
    text: str = ""
    named: int = 0  # how many attribute phrases the query holds ("black casual shoes" 2: one may fill 3 fields)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.attributes)
        if self.price:
            out["price"] = {"min": self.price[0], "max": self.price[1]}
        return out


def _key(stems: Iterable[str]) -> tuple[str, ...]:
    return tuple(stems)


def _normalise(text: str) -> str:
    """Possessives and hyphens as a shopper types them: "men's t-shirts" -> "men tshirts"."""
    text = re.sub(r"(\w)'s\b", r"\1", text)
    return re.sub(r"(?<=\w)-(?=\w)", "", text)


class QueryUnderstanding:
    def __init__(self, vocabulary: Mapping[str, Iterable[str]], max_span: int = 4) -> None:
        """`vocabulary`: field -> the values that field takes in the catalogue."""
        self.max_span = max_span
        self._values: dict[tuple[str, ...], dict[str, str]] = {}
        for name, values in vocabulary.items():
            values = list(values)
            if len(values) > MAX_VALUES_PER_FIELD:
                continue
            for value in values:
                stems = _key(tokenize(_normalise(str(value))))
                if not stems or all(s in STOP_WORDS or len(s) < 2 for s in stems) or len(stems) > max_span:
                    continue
                self._values.setdefault(stems, {}).setdefault(name, str(value))

    @property
    def size(self) -> int:
        return len(self._values)

    def _price(self, query: str) -> tuple[tuple[float | None, float | None] | None, str]:
        for pattern, kind in _PRICE_PATTERNS:
            match = pattern.search(query)
            if match:
                numbers = [float(g) for g in match.groups()]
                price = (
                    (min(numbers), max(numbers))
                    if kind == "range"
                    else (None, numbers[0])
                    if kind == "max"
                    else (numbers[0], None)
                )
                return price, (query[: match.start()] + " " + query[match.end() :]).strip()
        return None, query

    def parse(self, query: str) -> Understood:
        price, rest = self._price(query)
        stems = tokenize(_normalise(rest))
        found: dict[str, str] = {}
        named = 0
        i = 0
        while i < len(stems):
            for span in range(min(self.max_span, len(stems) - i), 0, -1):
                fields = self._values.get(tuple(stems[i : i + span]))
                if fields:
                    named += any(name not in found for name in fields)
                    for name, value in fields.items():
                        found.setdefault(name, value)
                    i += span
                    break
            else:
                i += 1
        return Understood(found, price, " ".join(rest.split()), named)
