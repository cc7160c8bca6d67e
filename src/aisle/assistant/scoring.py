"""The evaluation's own judge of a reply, independent of the assistant's faithfulness check (it shares no code
with it): expected facts, facts that must be absent, "we don't carry that", and claims with no source.

A claim has no source when the reply states a number that is neither in the policy documents (read here as raw
markdown) nor in the turn's tool results, quotes text that is not verbatim in the policy documents, or names a
capitalised word that appears in neither."""

from __future__ import annotations

import importlib.resources
import json
import re
from functools import lru_cache
from typing import Any

DONT_CARRY = re.compile(r"\b(don't|do not|doesn't|does not) (carry|sell|stock|have)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_QUOTED = re.compile(r"\"([^\"]{12,})\"")
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-z]{2,})\b", re.MULTILINE)
_TITLE = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+){2,}")
_PLAIN_WORDS = """From Sorry Here The This These Yes Our Cheapest Source Prices Price Problem Your Order Items Total
    Return Returns Refunds Refund Shipping Payment Warranty Privacy Hello What Which Please Of Standard Express
    Description Men Women Boys Girls Unisex Hi Options Option Delivery Orders"""
_PLAIN = frozenset(_PLAIN_WORDS.split())


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


@lru_cache(maxsize=1)
def policy_text() -> str:
    folder = importlib.resources.files("aisle.assistant") / "policies"
    return "\n".join(e.read_text(encoding="utf-8") for e in folder.iterdir() if e.name.endswith(".md"))


def _numbers(text: str) -> set[float]:
    out = set()
    for match in _NUMBER.finditer(text):
        try:
            out.add(round(float(match.group().replace(",", "")), 2))
        except ValueError:
            continue
    return out


def unsupported_claims(reply: str, results: list[dict[str, Any]], message: str) -> list[str]:
    """What the reply says that no source says (the policy documents, this turn's tool results, the message)."""
    data = json.dumps(results, default=str, ensure_ascii=False)
    sources = f"{policy_text()}\n{data}\n{message}"
    problems = []
    known = _numbers(sources)
    for value in sorted(_numbers(reply) - known):
        if not (value.is_integer() and value <= 10):  # list markers and small counts
            problems.append(f"number {value:g} has no source")
    policy = _norm(policy_text())
    for quoted in _QUOTED.findall(reply):
        if _norm(quoted) not in policy:
            problems.append(f"quote not in the policies: {quoted[:60]!r}")
    lowered = sources.lower()
    for name in set(_NAME.findall(reply)) - _PLAIN:
        if name.lower() not in lowered:
            problems.append(f"name {name!r} has no source")
    for line in reply.splitlines():  # a product name of three or more words stands in a result as written
        for title in _TITLE.findall(re.sub(r"^\s*\d+\.\s+", "", line)):
            words = title.split()
            while words and words[0] in _PLAIN:
                words.pop(0)
            if len(words) >= 3 and " ".join(words).lower() not in " ".join(lowered.split()):
                problems.append(f"product {' '.join(words)!r} has no source")
    return problems


def fact_misses(reply: str, facts: list[str | list[str]]) -> list[str]:
    """The expected facts (each a string or a list of alternatives) the reply does not state."""
    text = _norm(reply)
    misses = []
    for fact in facts:
        options = [fact] if isinstance(fact, str) else fact
        if not any(_norm(o) in text for o in options):
            misses.append(" | ".join(options))
    return misses


def present_absents(reply: str, absent: list[str]) -> list[str]:
    text = _norm(reply)
    return [a for a in absent if _norm(a) in text]


def dont_carry_ok(reply: str, tools: list[str], expected: bool, products: list[Any]) -> bool:
    """Expected: says it does not carry the kind, and names no policy. Not expected: shows products, no refusal."""
    said = bool(DONT_CARRY.search(reply))
    if expected:
        return said and "policy_answer" not in tools
    return not said and bool(products)
