"""Parsers for individual raw fields. Each returns the parsed value or raises FieldProblem(reason)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_MONEY = re.compile(r"^\s*([A-Z]{3}|[$€£¥₹])?\s*(-?[\d,]*\.?\d+)\s*([A-Z]{3})?\s*$")
_TRUE = {"1", "true", "yes", "y", "t", "in stock", "instock", "available"}
_FALSE = {"0", "false", "no", "n", "f", "out of stock", "outofstock", "unavailable", "sold out"}


class FieldProblem(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_id(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_price(value: Any, max_price: float) -> float | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise FieldProblem("invalid_price", f"price is a flag: {value!r}")
    if isinstance(value, int | float):
        price = float(value)
    else:
        match = _MONEY.match(str(value))
        if match is None:
            raise FieldProblem("invalid_price", f"price is not a number: {str(value)[:40]!r}")
        price = float(match.group(2).replace(",", ""))
    if not math.isfinite(price):
        raise FieldProblem("invalid_price", f"price is not finite: {value!r}")
    if price < 0:
        raise FieldProblem("negative_price", f"price is negative: {price}")
    if price > max_price:
        raise FieldProblem("implausible_price", f"price {price} is above the limit {max_price}")
    return price


def parse_rating(value: Any, scale: float = 5.0) -> float | None:
    if is_blank(value):
        return None
    try:
        rating = float(value)
    except (TypeError, ValueError):
        raise FieldProblem("invalid_rating", f"rating is not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(rating) or not 0 <= rating <= scale:
        raise FieldProblem("invalid_rating", f"rating {rating} is outside 0..{scale}")
    return rating


def parse_in_stock(value: Any) -> bool:
    if is_blank(value):
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    try:
        return float(text) > 0  # a stock count
    except ValueError:
        raise FieldProblem("invalid_in_stock", f"in-stock flag not understood: {text[:40]!r}") from None


def parse_currency(value: Any) -> str | None:
    if is_blank(value):
        return None
    text = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise FieldProblem("invalid_currency", f"currency is not an ISO 4217 code: {text[:20]!r}")
    return text


def as_path_parts(value: Any) -> list[str]:
    """A category path from a list, or a string split on '>', '/' or '|'."""
    if is_blank(value):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if not is_blank(v)]
    return [part for part in re.split(r"\s*[>/|]\s*", str(value)) if part.strip()]


def as_attributes(value: Any) -> dict[str, str]:
    if is_blank(value):
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if not is_blank(v)}
    raise FieldProblem("invalid_attributes", f"attributes are not a mapping: {str(value)[:40]!r}")
