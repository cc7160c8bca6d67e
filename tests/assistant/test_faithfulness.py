"""The faithfulness check on real policy sections and product lines (MiniLM for the cosine test), and the eval's
independent judge. The failing replies are the ones the issue reported, word for word where it quoted them."""

from __future__ import annotations

from typing import Any

import pytest

from aisle.assistant.faithfulness import FaithfulnessChecker, polarity, reply_sentences
from aisle.assistant.policies import load_sections
from aisle.assistant.scoring import fact_misses, unsupported_claims


def _policy_call(*headings: str) -> dict[str, Any]:
    sections = [s for s in load_sections() if s.heading in headings]
    assert len(sections) == len(headings)
    result = {"sections": [s.payload() for s in sections]}
    return {"name": "policy_answer", "args": {}, "result": result}


PRODUCTS = {
    "name": "search_products",
    "args": {},
    "result": {"products": [
        {"id": "ev013", "title": "Titan Men Black Watches", "price": 1999.0, "currency": "INR", "in_stock": True},
        {"id": "ev015", "title": "Casio Men Gold Watches", "price": 4799.0, "currency": "INR", "in_stock": True},
    ]},
}  # fmt: skip


@pytest.fixture(scope="module")
def checker() -> FaithfulnessChecker:
    from aisle.encoders.registry import create_encoder

    return FaithfulnessChecker(create_encoder("minilm"), brands=["Titan", "Casio", "Nike"])


@pytest.mark.parametrize(
    ("reply", "headings"),
    [
        (
            "if you're unable to return a shoe due to a lack of funds or a specific item, you can simply refund the "
            "purchase",
            ("Items that cannot be returned", "Return window"),
        ),
        ("Refunds take 30 days after we receive the parcel.", ("Refunds", "Return window")),
        ("Refunds go back to the original payment method within 10 business days.", ("Refunds",)),
        ("Yes. Innerwear, swimwear and cosmetics cannot be returned.", ("Items that cannot be returned",)),
        ("We ship internationally to every country.", ("Where we ship",)),
        ("According to our policy, I do not sell laptops.", ("How we use it",)),
    ],
)  # fmt: skip
def test_unsupported_policy_claims_fail(checker: FaithfulnessChecker, reply: str, headings: tuple[str, ...]) -> None:
    verdict = checker.check(reply, [_policy_call(*headings)], "a question")
    assert not verdict.ok and verdict.problems, reply


@pytest.mark.parametrize(
    ("reply", "headings"),
    [
        (
            'From our policy (Returns and refunds / Refunds): "Refunds go back to the original payment method within '
            '5 to 7 business days after the returned item passes its quality check."',
            ("Refunds",),
        ),
        (
            'No. From our policy (Shipping policy / Where we ship): "We do not ship internationally yet."',
            ("Where we ship",),
        ),
        ("You can return most items within 30 days of delivery.", ("Return window",)),  # a shortened sentence
        ("Express delivery costs 149 INR.", ("Shipping costs",)),
    ],
)  # fmt: skip
def test_supported_policy_claims_pass(checker: FaithfulnessChecker, reply: str, headings: tuple[str, ...]) -> None:
    verdict = checker.check(reply, [_policy_call(*headings)], "a question")
    assert verdict.ok, verdict.problems
    assert verdict.claims >= 1


def test_product_claims_are_exact(checker: FaithfulnessChecker) -> None:
    good = "I found 2 options; the top pick is the Titan Men Black Watches, at 1,999.00 INR."
    assert checker.check(good, [PRODUCTS], "black watches").ok
    two = "The top pick is the Titan Men Black Watches, and the second is the Casio Men Gold Watches."
    assert checker.check(two, [PRODUCTS], "black watches").ok  # each clause has its own product line
    for bad in (
        "The Titan Men Black Watches costs 999.00 INR.",
        "The Nike Air Zoom is also in stock.",
        "The Titan Men Black Watches is perfect for a summer wedding on the beach.",
        "The top pick is the Titan Men Black Watches, and the second is a waterproof diving computer.",
        "The top pick is the Titan Men Gold Watches.",  # a name near a listed one, but not listed
        "The top pick is the Casio Men Gold Watches.",  # listed, but second
    ):
        assert not checker.check(bad, [PRODUCTS], "black watches").ok, bad


def test_a_lead_that_says_nothing_is_no_claim(checker: FaithfulnessChecker) -> None:
    verdict = checker.check("Here is what I found:", [PRODUCTS], "black watches")
    assert verdict.ok and verdict.claims == 0


def test_yes_no_joins_the_sentence_it_answers() -> None:
    assert reply_sentences("No. We do not ship internationally yet.\n1. A line") == [
        "No. We do not ship internationally yet.",
        "A line",
    ]
    assert polarity("No. We do not ship internationally yet.") is True
    assert polarity("Yes. You can return most items.") is False
    assert polarity("Yes. Swimwear cannot be returned.") is None


def test_without_an_encoder_only_lexical_support_counts() -> None:
    lexical_only = FaithfulnessChecker(None)
    call = _policy_call("Refunds")
    assert lexical_only.check("Refunds go back to the original payment method.", [call]).ok
    assert not lexical_only.check("Your money comes home to the card you used.", [call]).ok


def test_the_judge_is_independent_of_the_check() -> None:
    results = [PRODUCTS["result"]]
    assert unsupported_claims("The Titan Men Black Watches costs 1,999.00 INR.", results, "watches") == []
    assert unsupported_claims("It costs 1,499.00 INR.", results, "watches") == ["number 1499 has no source"]
    assert unsupported_claims("The top pick is the Titan Men Gold Watches.", results, "watches") == [
        "product 'Titan Men Gold Watches' has no source"
    ]
    quoted = unsupported_claims('Our policy: "Refunds are instant and free of any charge."', [], "refunds")
    assert quoted and quoted[0].startswith("quote not in the policies")
    assert fact_misses("Refunds take 5 to 7 business days.", ["5 to 7 business days", ["30 days", "1 month"]]) == [
        "30 days | 1 month"
    ]
