"""Removable chips for the attributes recognised in a query: removing one drops its words from the query."""

from __future__ import annotations

from typing import Any

MAX_SPAN = 4


def chip_label(field: str, value: Any) -> str:
    if field == "price" and isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
        if low is not None and high is not None:
            return f"price: {low:g}-{high:g}"
        return f"price: under {high:g}" if high is not None else f"price: over {low:g}"
    return f"{field.replace('_', ' ')}: {value}"


def chips(understood: dict[str, Any]) -> dict[str, str]:
    """label -> field, for each recognised attribute."""
    return {chip_label(field, value): field for field, value in understood.items()}


def drop_attribute(understanding: Any, query: str, field: str) -> str:
    """The query without the words that made `field` recognised, keeping every other recognised attribute.

    Tries the shortest span of words first (longest first for a price phrase, "under 50"), so that ordinary
    words around the attribute stay."""
    base = understanding.parse(query).to_json()
    if field not in base:
        return query
    words = query.split()
    spans = range(1, min(MAX_SPAN, len(words)) + 1)
    for span in reversed(spans) if field == "price" else spans:
        for start in range(len(words) - span + 1):
            candidate = " ".join(words[:start] + words[start + span :])
            got = understanding.parse(candidate).to_json()
            if field not in got and all(got.get(k) == v for k, v in base.items() if k != field):
                return candidate
    return query


def drop_attributes(understanding: Any, query: str, fields: list[str]) -> str:
    for field in fields:
        query = drop_attribute(understanding, query, field)
    return query
