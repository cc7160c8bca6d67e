"""Filters in aisle's own terms, translated by each engine: a conjunction of value matches and ranges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class FilterError(ValueError):
    """A filter naming a field the collection does not have, or a value of the wrong kind."""


@dataclass(frozen=True, slots=True)
class Match:
    """The field holds one of `values` (a list-valued field: any of its items does)."""

    field: str
    values: tuple[str | bool, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """low <= field <= high; None leaves that side open."""

    field: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    """Every condition holds."""

    conditions: tuple[Match | Range, ...]


def _range(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, tuple):
        low, high = value
        return (None if low is None else float(low), None if high is None else float(high))
    text = str(value)
    if ".." in text:
        low_text, _, high_text = text.partition("..")
        return (float(low_text) if low_text else None, float(high_text) if high_text else None)
    number = float(text)
    return (number, number)


def build_filter(filters: Mapping[str, Any], fields: Mapping[str, str]) -> Filter | None:
    """A Filter from {field: value}: lists match any value, numbers take 'LOW..HIGH' or (low, high)."""
    conditions: list[Match | Range] = []
    for field, value in filters.items():
        kind = fields.get(field)
        if kind is None:
            raise FilterError(
                f"unknown filter field {field!r}; this collection filters on: {', '.join(sorted(fields))}"
            )
        try:
            if kind in ("float", "integer"):
                conditions.append(Range(field, *_range(value)))
            elif kind == "bool":
                text = str(value).lower()
                if text not in _TRUE | _FALSE:
                    raise ValueError(f"expected true or false, got {value!r}")
                conditions.append(Match(field, (text in _TRUE,)))
            elif isinstance(value, list | tuple | set):
                conditions.append(Match(field, tuple(str(v) for v in value)))
            else:
                conditions.append(Match(field, (str(value),)))
        except ValueError as exc:
            raise FilterError(f"bad value for filter {field!r}: {exc}") from None
    return Filter(tuple(conditions)) if conditions else None
