"""Slots, redaction and the grounding guard: plain functions, no models."""

from __future__ import annotations

import logging

import pytest

from aisle.assistant.guard import Evidence, check
from aisle.assistant.redact import get_logger, redact
from aisle.assistant.slots import extract, resolve_refs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is ORD-1003?", {"order_id": "ORD-1003"}),
        ("check order number 1005 please", {"order_id": "ORD-1005"}),
        ("ord1002 for bob@example.com", {"order_id": "ORD-1002", "email": "bob@example.com"}),
        ("red dresses under 2000", {"colour": "Red", "price_max": 2000.0}),
        ("shirts between 1,000 and 1500", {"price_min": 1000.0, "price_max": 1500.0}),
        ("watches under 2k", {"price_max": 2000.0}),
        ("tell me more about the second one", {"refs": (2,)}),
        ("compare the first and the last", {"refs": (1, -1)}),
        ("compare 1 and 3", {"refs": (1, 3)}),
        ("more info on number 2", {"refs": (2,)}),
        ("navy blue shirts over 500", {"colour": "Navy Blue", "price_min": 500.0}),
        ("return it because it's too small", {"reason": "it's too small"}),
    ],
)
def test_extract_slots(text: str, expected: dict[str, object]) -> None:
    slots = extract(text)
    for key, value in expected.items():
        assert getattr(slots, key) == value, key


def test_slots_from_the_catalogues_own_colours() -> None:
    assert extract("rose gold watches", ["Rose Gold", "Gold"]).colour == "Rose Gold"
    assert extract("show me jeans").colour is None
    assert extract("red dresses under 2000").query == "red dresses"


def test_resolve_refs_drops_out_of_range() -> None:
    assert resolve_refs([2, -1, 9], 3) == [1, 2]
    assert resolve_refs([1], 0) == []


def test_redact_personal_data() -> None:
    text = "mail me at jo.smith+shop@example.co.uk, call +91 98765 43210 or 020 7946 0958; card 4111 1111 1111 1111"
    cleaned = redact(text)
    assert "example.co.uk" not in cleaned and "98765" not in cleaned and "4111" not in cleaned
    assert cleaned.count("[email]") == 1 and cleaned.count("[phone]") == 2 and "[card]" in cleaned
    # order ids, prices, dates and short numbers stay; a mistyped (non-Luhn) card number still goes, as a phone
    kept = "ORD-1001 cost 1,299.00 INR on 2026-11-20, size 42, 3 to 5 days"
    assert redact(kept) == kept
    assert "5678" not in redact("card 1234 5678 9012 3456")


def test_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    log = get_logger("aisle.assistant.test_redaction")
    with caplog.at_level(logging.INFO, logger="aisle.assistant.test_redaction"):
        log.info("customer %s asked about %s", "ann@example.com", "ORD-1001")
    assert "ann@example.com" not in caplog.text and "[email]" in caplog.text and "ORD-1001" in caplog.text


RESULTS = [
    {
        "products": [
            {"id": "ev001", "title": "Roadster Men Blue Shirts", "price": 899.0, "currency": "INR", "in_stock": True},
            {"id": "ev009", "title": "Levis Men Blue Jeans", "price": 1299.0, "currency": "INR", "in_stock": False},
        ]
    },
    {"found": True, "orders": [{"order_id": "ORD-1001", "status": "shipped", "total": 899.0, "currency": "INR"}]},
]


@pytest.mark.parametrize(
    "reply",
    [
        "The Roadster Men Blue Shirts cost 899.00 INR and are in stock.",
        "Levis Men Blue Jeans are out of stock; I found 2 options.",
        "Your order ORD-1001 has shipped and totals ₹899.",
        "Here is what I found:\n1. Roadster Men Blue Shirts - 899.00 INR",
        "A courier picks it up and 899.00 INR will be refunded after the check.",
    ],
)
def test_guard_accepts_grounded_replies(reply: str) -> None:
    result = check(reply, Evidence.of(RESULTS, "blue shirts"), brands=["Roadster", "Levis", "Nike"])
    assert result.ok, result.problems


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("The Roadster Men Blue Shirts cost 799.00 INR.", "number 799.00"),
        ("Nike shirts are great.", "brand 'Nike'"),
        ("You might like the Peter England Oxford shirt.", "name 'Peter'"),
        ("Your order ORD-1002 was delivered.", "order id ORD-1002"),
        ("Your order ORD-1001 was delivered yesterday.", "order status 'delivered'"),
        ("Only 3 left in stock!", "number 3"),
        ("Sorry, the shirts are sold out.", None),
    ],
)
def test_guard_flags_facts_no_tool_returned(reply: str, problem: str | None) -> None:
    evidence = Evidence.of([RESULTS[0]["products"][0]], "blue shirts")  # one in-stock product, no orders
    result = check(reply, evidence, brands=["Roadster", "Nike"])
    assert not result.ok
    if problem:
        assert any(problem in p for p in result.problems), result.problems


def test_every_tool_intent_names_a_tool_and_every_tool_has_an_intent() -> None:
    from aisle.assistant.intents import INTENTS
    from aisle.assistant.tools import TOOLS

    conversational = {"greeting", "off_topic", "abusive"}  # answered without a tool
    assert set(INTENTS) - conversational == set(TOOLS)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("can other customers see my orders?", True),
        ("Could anyone else access my data ?  ", True),
        ("do other users read my chat? really?", True),
        ("can other customers see my orders", False),  # not a question
        ("show me other customers' orders?", False),  # not a yes/no question
        ("can I see other customers' orders?", False),  # not about "my" data
        ("can other customers see my orders. list them?", False),  # two sentences
        ("can my orders be seen by others?", False),  # "my" before the verb
    ],
)
def test_about_my_data(message: str, expected: bool) -> None:
    from aisle.assistant.router import about_my_data

    assert about_my_data(message) is expected
