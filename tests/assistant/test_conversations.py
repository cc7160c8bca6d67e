"""Whole turns over the packaged evaluation catalogue, without a model (the templates): policy quotes with their
section, "we don't carry that", comparisons, follow-ups, and the one-note rule for fields no product has."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aisle.assistant import render


def test_policy_answers_quote_the_section_that_answers(make_assistant: Callable[..., Any]) -> None:
    assistant = make_assistant(llm=None)
    refunds = assistant.reply("how long do refunds take?")
    assert refunds.tool_calls[0]["name"] == "policy_answer"
    assert "5 to 7 business days" in refunds.reply and "30 days" not in refunds.reply
    assert refunds.citations == ["Returns and refunds / Refunds"] and refunds.grounded
    shoes = assistant.reply("What is your return policy for shoes?")  # the question: the general rule
    assert shoes.citations == ["Returns and refunds / Return window"] and "30 days" in shoes.reply
    emi = assistant.reply("do you offer EMI?")  # "No-cost EMI is available": a "no" that is not a negation
    assert emi.reply.startswith("Yes. No-cost EMI is available") and emi.grounded
    swimwear = assistant.reply("Can I return swimwear?")
    assert swimwear.reply.startswith("No. ") and "cannot be returned" in swimwear.reply
    assert swimwear.citations == ["Returns and refunds / Items that cannot be returned"]


def test_a_kind_the_shop_lacks_is_said_plainly(make_assistant: Callable[..., Any]) -> None:
    assistant = make_assistant(llm=None)
    laptops = assistant.reply("do you sell laptops?")
    assert [c["name"] for c in laptops.tool_calls] == ["search_products"]  # never a policy
    assert "we don't carry laptops" in laptops.reply and not laptops.products
    assert "closest categories we do carry" in laptops.reply and laptops.grounded
    handbags = assistant.reply("do you sell handbags?")
    assert handbags.products and "don't carry" not in handbags.reply


def test_compare_the_two_cheapest(make_assistant: Callable[..., Any]) -> None:
    reply = make_assistant(llm=None).reply("Compare the two cheapest black watches for men")
    assert [c["name"] for c in reply.tool_calls] == ["search_products", "compare_products"]
    found = reply.calls[0]["result"]["products"]
    compared = reply.calls[1]["result"]["products"]
    assert len(compared) == 2
    assert [p["price"] for p in compared] == sorted(p["price"] for p in found)[:2]
    assert reply.reply.count("Cheapest:") == 1 and reply.grounded


def test_follow_ups_refine_the_last_search(make_assistant: Callable[..., Any]) -> None:
    assistant = make_assistant(llm=None)
    first = assistant.reply("casual shoes", session_id=None)
    session = first.session_id
    women = assistant.reply("for women", session_id=session)
    assert women.tool_calls[0]["args"]["gender"] == "Women"
    assert women.products and all(p["gender"] == "Women" for p in women.products)
    more = assistant.reply("show more", session_id=session)
    assert more.tool_calls[0]["args"]["more"] is True
    assert {p["id"] for p in more.products}.isdisjoint({p["id"] for p in women.products})
    assert all(p["gender"] == "Women" for p in more.products)
    black = assistant.reply("does it come in black?", session_id=session)
    assert black.tool_calls[0]["args"]["colour"] == "Black" and black.products[0]["colour"] == "Black"


def test_follow_up_policy_question_keeps_its_subject(make_assistant: Callable[..., Any]) -> None:
    assistant = make_assistant(llm=None)
    first = assistant.reply("how much is standard shipping?")
    express = assistant.reply("and express?", session_id=first.session_id)
    assert express.tool_calls[0]["name"] == "policy_answer" and "149 INR" in express.reply


def test_a_field_no_product_has_is_said_once() -> None:
    products = [{"id": str(n), "title": f"Watch {n}", "in_stock": True} for n in range(1, 4)]
    search = render.facts({"name": "search_products", "result": {"products": products}})
    assert render.NO_PRICES in search and not any("price not listed" in line for line in search)
    compare = render.facts({"name": "compare_products", "result": {"products": products, "asked_cheapest": True}})
    assert compare[-1] == render.NO_CHEAPEST and not any(line.startswith("Cheapest") for line in compare)


def test_a_question_about_who_sees_my_data_gets_the_privacy_policy(make_assistant: Callable[..., Any]) -> None:
    assistant = make_assistant(llm=None)
    asked = assistant.reply("can other customers see my orders?")
    assert [c["name"] for c in asked.tool_calls] == ["policy_answer"]
    assert "only shown to the customer who placed them" in asked.reply
    bulk = assistant.reply("show me other customers' orders")
    assert not bulk.tool_calls and bulk.reply == render.REFUSAL  # a request for their data is still refused


def test_odd_requests_get_a_clear_answer_not_a_guess(make_assistant: Callable[..., Any]) -> None:
    assistant = make_assistant(llm=None)
    for message in ("the second one", "compare the 4 cheapest"):  # nothing shown yet
        reply = assistant.reply(message)
        assert not reply.tool_calls and reply.reply == render.which_one(0), message
    too_long = assistant.reply("for women " * 190)  # a search the pipeline refuses: said in the reply, not raised
    assert too_long.grounded and "the limit is 1,000" in too_long.reply
