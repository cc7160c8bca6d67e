"""Slot extraction for the router: order ids, e-mails, references to earlier results ("the second one"),
price limits, colours, a return reason, and the search text left when those are taken out."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from aisle.assistant.orders import ORDER_ID, normalise_order_id
from aisle.assistant.redact import EMAIL

ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1, "latter": -1, "former": 1,
}  # fmt: skip
COLOURS = (
    "black", "white", "blue", "navy blue", "red", "green", "yellow", "pink", "purple", "grey", "gray", "brown",
    "beige", "orange", "maroon", "olive", "silver", "gold", "cream", "teal", "magenta", "khaki", "charcoal",
    "lavender", "peach", "turquoise blue", "multi", "off white", "coffee brown", "rust", "mustard", "tan",
)  # fmt: skip
_ORDINAL = "|".join(sorted(map(re.escape, ORDINALS), key=len, reverse=True))
_REF = re.compile(
    rf"\b(?:the\s+)?({_ORDINAL})(?:\s+(?:one|item|option|product|result|pick))?\b"
    r"|(?:#|\bnumber\s+|\bno\.?\s*|\boption\s+|\bitem\s+|\bresult\s+)([1-9])\b",
    re.IGNORECASE,
)
_BARE_NUMBERS = re.compile(r"\b(?:compare|between)?\s*([1-9])\s*(?:,|and|&|vs\.?|versus)\s*([1-9])\b", re.IGNORECASE)
_NUMBER = r"(\d[\d,]*(?:\.\d+)?(?:\s*k\b)?)"
_CURRENCY = r"(?:rs\.?|inr|₹|£|\$|€|gbp|usd|eur)?\s*"
_UPPER = r"under|below|less than|cheaper than|up to|upto|max(?:imum)?|at most|within"
_MAX = re.compile(rf"\b(?:{_UPPER})\s+{_CURRENCY}{_NUMBER}", re.I)
_MIN = re.compile(rf"\b(?:over|above|more than|at least|min(?:imum)?|from)\s+{_CURRENCY}{_NUMBER}", re.I)
_BETWEEN = re.compile(rf"\bbetween\s+{_CURRENCY}{_NUMBER}\s*(?:and|-|to)\s*{_CURRENCY}{_NUMBER}", re.I)
_ORDER_NUMBER = re.compile(r"\border\s*(?:number|no\.?|#)?\s*#?\s*(\d{4,8})\b", re.IGNORECASE)
GENDERS = {
    "women": "Women", "woman": "Women", "ladies": "Women", "female": "Women", "girls": "Girls", "men": "Men",
    "man": "Men", "mens": "Men", "gents": "Men", "male": "Men", "boys": "Boys", "unisex": "Unisex",
}  # fmt: skip
_GENDER_WORD = re.compile(r"\b(" + "|".join(GENDERS) + r")(?:'s)?\b", re.IGNORECASE)
_MORE = re.compile(
    r"\b(show|see|give|any|got)\s+(me\s+)?(some\s+)?more\b|\bmore (options|results|of them)\b|"
    r"^\s*more\s*(please|options|results)?\s*[.!?]*\s*$|\bnext (page|ones?|results)\b|\bwhat else\b",
    re.IGNORECASE,
)
_REASON = re.compile(r"\b(?:because|since|as|reason:?)\s+(.{3,120})", re.IGNORECASE)
_FILLER = re.compile(
    r"\b(?:please|pls|can you|could you|i want|i need|i'm looking for|im looking for|i am looking for|looking for|"
    r"show me|find me|find|search for|do you have|have you got|any|some|get me|recommend|suggest|me|a|an|the)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Slots:
    order_id: str | None = None
    email: str | None = None
    refs: tuple[int, ...] = ()  # 1-based positions in the last results; -1 is the last one
    price_min: float | None = None
    price_max: float | None = None
    colour: str | None = None
    gender: str | None = None
    more: bool = False  # "show more": the next results of the last search
    reason: str | None = None
    query: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "order_id": self.order_id, "email": "[email]" if self.email else None, "refs": list(self.refs),
            "price_min": self.price_min, "price_max": self.price_max, "colour": self.colour,
            "gender": self.gender, "more": self.more or None,
        }  # fmt: skip
        return {k: v for k, v in out.items() if v not in (None, [])}


def _amount(text: str) -> float:
    value = float(text.replace(",", "").rstrip("kK").strip())
    return value * 1000 if text.strip().lower().endswith("k") else value


def find_colour(text: str, colours: Iterable[str] = COLOURS) -> str | None:
    lowered = text.lower()
    for colour in sorted(colours, key=len, reverse=True):
        if re.search(rf"\b{re.escape(colour.lower())}\b", lowered):
            return colour.title() if colour.islower() else colour
    return None


def extract(text: str, colours: Iterable[str] = COLOURS) -> Slots:
    """Every slot found in one user message."""
    order = ORDER_ID.search(text) or _ORDER_NUMBER.search(text)
    order_id = normalise_order_id(order.group(1) if order and order.groups() else order.group()) if order else None
    email = EMAIL.search(text)
    refs: list[int] = []
    for match in _REF.finditer(text):
        word, digit = match.group(1), match.group(2)
        refs.append(ORDINALS[word.lower()] if word else int(digit))
    if not refs and (bare := _BARE_NUMBERS.search(text)) and not _MAX.search(text) and not _BETWEEN.search(text):
        refs = [int(bare.group(1)), int(bare.group(2))]
    price_min = price_max = None
    if between := _BETWEEN.search(text):
        price_min, price_max = sorted((_amount(between.group(1)), _amount(between.group(2))))
    else:
        if high := _MAX.search(text):
            price_max = _amount(high.group(1))
        if low := _MIN.search(text):
            price_min = _amount(low.group(1))
    reason = _REASON.search(text)
    gender = _GENDER_WORD.search(text)
    query = EMAIL.sub(" ", text)
    query = ORDER_ID.sub(" ", query)
    for pattern in (_BETWEEN, _MAX, _MIN, _REF):
        query = pattern.sub(" ", query)
    query = _FILLER.sub(" ", query)
    query = " ".join(re.sub(r"[?!.,;:]+", " ", query).split())
    return Slots(
        order_id=order_id,
        email=email.group() if email else None,
        refs=tuple(dict.fromkeys(refs)),
        price_min=price_min,
        price_max=price_max,
        colour=find_colour(text, colours),
        gender=GENDERS[gender.group(1).lower()] if gender else None,
        more=bool(_MORE.search(text)),
        reason=reason.group(1).strip(" .!") if reason else None,
        query=query,
    )


def resolve_refs(refs: Iterable[int], count: int) -> list[int]:
    """0-based indexes into a list of `count` results for 1-based refs (-1 = last); out-of-range refs dropped."""
    out = []
    for ref in refs:
        index = count - 1 if ref == -1 else ref - 1
        if 0 <= index < count and index not in out:
            out.append(index)
    return out
