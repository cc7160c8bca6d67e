""" "Because you viewed 4 women's casual shoes": why the shopper's history moved a result up.

The reason names what the hit shares with the history (its gender and its most specific category, and a
colour, usage or brand when the query named those, each held by at least two events) and counts the
history's purchases and other events on products that share them. It only says what the history holds:
the counts are of the shopper's own stored events.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from aisle.personal.taste import describe
from aisle.types import EventType

CATEGORY_FIELDS = ("article_type", "sub_category", "category", "master_category")
OTHER_FIELDS = ("colour", "usage", "brand")
PHRASE_ORDER = ("gender", "colour", "usage", "brand", *CATEGORY_FIELDS)
MIN_EVENTS = 2  # a value the history touched once is not a reason


def _shared(
    values: Mapping[str, str], history: Sequence[tuple[EventType, Mapping[str, str]]], skip: Collection[str]
) -> dict[str, str]:
    """The hit's values that the history holds at least MIN_EVENTS times: its gender and its most specific
    category field; when the query itself named all of those (so they moved nothing), also one of colour,
    usage or brand that it did not name."""

    def held(name: str) -> bool:
        value = values.get(name)
        return bool(value) and sum(seen.get(name) == value for _, seen in history) >= MIN_EVENTS

    chosen = {"gender": values["gender"]} if held("gender") else {}
    category = next((f for f in CATEGORY_FIELDS if held(f)), None)
    if category is not None:
        chosen[category] = values[category]
    if all(f in skip for f in chosen):
        other = next((f for f in OTHER_FIELDS if f not in skip and held(f)), None)
        if other is not None:
            chosen[other] = values[other]
        elif chosen:
            return {}  # everything it shares with the history, the query asked for: no reason of its own
    return chosen


def reason(
    values: Mapping[str, str],
    history: Sequence[tuple[EventType, Mapping[str, str]]],
    skip: Collection[str] = (),
) -> str | None:
    """The sentence for one hit (`values`: its attribute values), or None when it shares nothing telling."""
    shared = _shared(values, history, skip)
    if not shared:
        return None
    kinds = [kind for kind, seen in history if all(seen.get(f) == v for f, v in shared.items())]
    bought = sum(kind == EventType.PURCHASE for kind in kinds)
    looked = len(kinds) - bought
    said = " and ".join(
        part for part in (f"bought {bought}" if bought else "", f"looked at {looked}" if looked else "") if part
    )
    return f"because you {said} {describe(shared, PHRASE_ORDER)}"
