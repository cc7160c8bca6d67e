"""The grounding guard: every product, price, stock level and order fact in a reply must come from this turn's
tool results (or be the customer's own words). Extracts the facts a reply states and checks each one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aisle.assistant.orders import ORDER_ID, STATUSES, normalise_order_id

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{2,3})+|\d+)(?:\.(\d+))?(?![\w])")
_CURRENCY_BEFORE = re.compile(r"(?:rs\.?|inr|₹|£|\$|€|gbp|usd|eur)\s*$", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(r"^\s*(?:rs\b|inr\b|gbp\b|usd\b|eur\b|rupees|pounds|dollars|euros|left\b|in stock|"
                             r"units?\b|pieces?\b|items? left|available)", re.IGNORECASE)  # fmt: skip
_STOCK_OUT = re.compile(r"\b(out of stock|sold out|unavailable|not available|not in stock)\b", re.IGNORECASE)
_STOCK_IN = re.compile(r"(?<!not )(?<!out of )\b(in stock|available now|in-stock)\b", re.IGNORECASE)
# a status stated about an order ("is shipped", "has been delivered"), not the verb in "will be refunded"
_STATUS = re.compile(
    r"\b(?:is|was|are|were|has been|have been|now|status:?|currently)\s+(?:now\s+)?("
    + "|".join(re.escape(s) for s in STATUSES)
    + r")\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-zA-Z'&-]{2,})\b", re.MULTILINE)
_COMMON = """I I'm I'll I've Hello Hi Hey Thanks Thank Sorry Sure Yes No Here Great Please Our We You Your The This That
    These Those It Its There They Aisle Let Unfortunately However Also And But Or So If When Would Could Can Do Does
    Is Are Was Were Have Has Of For To With In On At By From Order Orders Return Returns Refund Shipping Delivery
    Warranty Payment Privacy Policy Standard Express India Indian INR GBP USD EUR Rs Business Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday January February March April May June July August September October November
    December Customer Service Visa Mastercard RuPay American Express UPI EMI OTP CVV PIN Happy Welcome Good Nice
    What Which Who How Why Where Just Only All Both One Two Three Four Five First Second Third Last Best Cheapest
    Price Prices Stock Product Products Item Items Options Option Men Women Boys Girls Unisex Kids Size Colour Color
Data DATA Question Answer According"""
COMMON_WORDS = frozenset(_COMMON.split())


@dataclass(frozen=True, slots=True)
class GuardResult:
    ok: bool
    problems: list[str] = field(default_factory=list)


def _as_float(whole: str, frac: str | None) -> float:
    return float(whole.replace(",", "") + (f".{frac}" if frac else ""))


def _walk(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)
    else:
        yield value


@dataclass
class Evidence:
    """The facts a reply may state: everything in this turn's tool results, plus the customer's message."""

    text: str
    numbers: set[float]
    order_ids: set[str]
    in_stock: set[bool]
    vocabulary: set[str]

    @classmethod
    def of(cls, results: Sequence[dict[str, Any]], message: str = "", extra_text: str = "") -> Evidence:
        text = json.dumps(list(results), default=str, ensure_ascii=False) + "\n" + message + "\n" + extra_text
        numbers: set[float] = set()
        for value in _walk(list(results)):
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                numbers.add(round(float(value), 2))
        for match in _NUMBER.finditer(text):
            numbers.add(round(_as_float(match.group(1), match.group(2)), 2))
        stock = {v for r in results for v in _stock_values(r)}
        ids = {normalise_order_id(m.group()) for m in ORDER_ID.finditer(text)}
        words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'&-]+", text)}
        return cls(text.lower(), numbers, ids, stock, words)


def _stock_values(result: Any) -> Iterable[bool]:
    if isinstance(result, dict):
        for key, value in result.items():
            if key == "in_stock" and isinstance(value, bool):
                yield value
            else:
                yield from _stock_values(value)
    elif isinstance(result, list):
        for item in result:
            yield from _stock_values(item)


def check(reply: str, evidence: Evidence, brands: Iterable[str] = ()) -> GuardResult:
    """Every stated price/number, order id, order status, stock claim and product or brand name is in evidence."""
    problems: list[str] = []
    for match in _NUMBER.finditer(reply):
        value = round(_as_float(match.group(1), match.group(2)), 2)
        if value in evidence.numbers:
            continue
        before, after = reply[: match.start()], reply[match.end() :]
        line_start = before.rstrip(" ").endswith("\n") or not before.strip()
        money_or_stock = bool(_CURRENCY_BEFORE.search(before[-6:]) or _CURRENCY_AFTER.match(after))
        if line_start and after.startswith((".", ")")) and not money_or_stock:
            continue  # a list marker
        if value <= 10 and float(value).is_integer() and not money_or_stock and not match.group(2):
            continue  # small counts ("2 options")
        problems.append(f"number {match.group()} is not in the tool results")
    for match in ORDER_ID.finditer(reply):
        if normalise_order_id(match.group()) not in evidence.order_ids:
            problems.append(f"order id {match.group()} is not in the tool results")
    for match in _STATUS.finditer(reply):
        if match.group(1).lower() not in evidence.text:
            problems.append(f"order status {match.group(1)!r} is not in the tool results")
    if _STOCK_OUT.search(reply) and False not in evidence.in_stock:
        problems.append("says out of stock, but no result is")
    if _STOCK_IN.search(reply) and True not in evidence.in_stock and "in stock" not in evidence.text:
        problems.append("says in stock, but no result is")
    lowered = reply.lower()
    for brand in brands:
        name = brand.lower()
        # the substring test first: most of the catalogue's brands are absent, and a regex each costs more
        named = len(name) > 2 and name in lowered and re.search(rf"\b{re.escape(name)}\b", lowered)
        if named and name not in evidence.text:
            problems.append(f"brand {brand!r} is not in the tool results")
    for match in _CAPITALISED.finditer(reply):
        word = match.group(1)
        if word in COMMON_WORDS or word.lower() in evidence.vocabulary:
            continue
        problems.append(f"name {word!r} is not in the tool results")
    return GuardResult(not problems, list(dict.fromkeys(problems)))
