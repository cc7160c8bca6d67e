"""Text built from tool results: the delimited data block the LLM reads, and the grounded templates that stand
in when a generated reply fails the guard (or when no model is needed: refusals, greetings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DATA_OPEN, DATA_CLOSE = "<<<DATA", "DATA>>>"
REFUSAL = (
    "Sorry, I can only help with shopping at aisle: finding and comparing products, your orders and returns, and "
    "our shipping, returns, warranty, payment and privacy policies."
)
ABUSE_REPLY = (
    "I'm sorry this has been frustrating. I'm here to help with products, orders, returns and shop policies: "
    "what can I do for you?"
)
GREETING = (
    "Hello! I can find and compare products, check an order or start a return (with the order id and your e-mail), "
    "and answer questions about shipping, returns, warranty, payment and privacy."
)


def which_one(shown: int) -> str:
    listed = "one product" if shown == 1 else f"{shown} products"
    return f"I showed {listed}; which one do you mean?" if shown else "Which product do you mean?"


def money(value: Any, currency: Any) -> str:
    if value is None:
        return "price not listed"
    amount = f"{float(value):,.2f}"
    return f"{amount} {currency}" if currency else amount


NO_PRICES = "The catalogue lists no prices for these products."
NO_CHEAPEST = "The catalogue lists no prices for these products, so I cannot say which is cheapest."


def product_line(n: int, p: dict[str, Any], with_id: bool = True, with_price: bool = True) -> str:
    stock = "in stock" if p.get("in_stock", True) else "out of stock"
    price = f"{money(p.get('price'), p.get('currency'))}, " if with_price else ""
    line = f"{n}. {p.get('title')} - {price}{stock}"
    return f"{line} (id {p.get('id')})" if with_id else line


def priced(products: Sequence[dict[str, Any]]) -> bool:
    """Whether any product has a price (when none has, say so once rather than on every line)."""
    return any(p.get("price") is not None for p in products)


def not_carried(result: dict[str, Any]) -> list[str]:
    words = " ".join(result["not_carried"])
    lines = [f"Sorry, we don't carry {words}."]
    if result.get("closest"):
        lines.append(f"The closest categories we do carry: {', '.join(result['closest'])}.")
    return lines


def policy_quote(result: dict[str, Any]) -> str:
    """The extractive policy answer: the quoted sentences, each section's with its heading path."""
    quote = result.get("quote")
    if not quote:
        return "I could not find that in our policies."
    verdict = {"yes": "Yes.", "no": "No."}.get(quote.get("answer") or "")
    lead = f"{verdict} {quote['best']}\n" if verdict else ""  # the verdict with the sentence it rests on
    parts = [f'From our policy ({p["title"]}): "{" ".join(p["sentences"])}"' for p in quote["parts"]]
    return lead + "\n".join(parts)


def order_line(o: dict[str, Any]) -> str:
    items = ", ".join(f"{i.get('title')} x{i.get('quantity', 1)}" for i in o.get("items", []))
    when = f", delivered {o['delivered']}" if o.get("delivered") else ""
    carrier = f" with {o['carrier']}" if o.get("carrier") and o.get("status") in ("shipped", "out for delivery") else ""
    return (
        f"Order {o['order_id']} (placed {o['placed']}{when}) is {o['status']}{carrier}. Items: {items}. "
        f"Total {money(o.get('total'), o.get('currency'))}."
    )


def facts(call: dict[str, Any], with_ids: bool = True) -> list[str]:
    """One tool call's result as short lines of facts (data block and templates share them)."""
    name, result = call["name"], call["result"]
    if result.get("error"):
        return [f"Problem: {result['error']}"]
    if name in ("search_products", "recommend_for_me", "product_details", "compare_products"):
        if result.get("not_carried"):
            return not_carried(result)
        products = result.get("products", [])
        if not products:
            return [f"No {'more ' if result.get('more') else ''}matching products were found."]
        with_price = priced(products)
        lines = [product_line(n, p, with_ids, with_price) for n, p in enumerate(products, start=1)]
        if name == "product_details":
            p = products[0]
            extras = [f"description: {p['description']}"] if p.get("description") else []
            extras += [f"{k}: {p[k]}" for k in ("brand", "colour", "article_type", "gender") if p.get(k)]
            lines += extras
        if name == "compare_products":
            lines = [compare_line(n, p, with_price) for n, p in enumerate(products, start=1)]
            if result.get("cheapest"):
                cheapest = next(p for p in products if p["id"] == result["cheapest"])
                lines.append(f"Cheapest: {cheapest['title']} at {money(cheapest['price'], cheapest.get('currency'))}.")
        if not with_price:
            lines.append(NO_CHEAPEST if name == "compare_products" and result.get("asked_cheapest") else NO_PRICES)
        return lines
    if name in ("order_status", "start_return"):
        if not result.get("found"):
            return [str(result.get("message"))]
        if name == "order_status":
            orders = result.get("orders", [])
            return [order_line(o) for o in orders] or ["You have no orders."]
        ret = result["return"]
        if ret.get("ok"):
            return [
                f"Return {ret['return_id']} is open for order {ret['order_id']}: a courier will pick it up and "
                f"{money(ret['refund'], ret['currency'])} will be refunded after the quality check."
            ]
        return [f"A return for order {ret['order_id']} cannot be started: {ret['why']}."]
    if name == "policy_answer":
        return [f"{s['title']}: {s['text']}" for s in result.get("sections", [])]
    return []


def compare_line(n: int, p: dict[str, Any], with_price: bool) -> str:
    """One product of a comparison: the fields side by side (the ones it has)."""
    parts = [money(p.get("price"), p.get("currency"))] if with_price else []
    parts += [str(p[k]) for k in ("brand", "colour", "gender", "article_type") if p.get(k)]
    parts.append("in stock" if p.get("in_stock", True) else "out of stock")
    return f"{n}. {p.get('title')}: {', '.join(parts)}"


def data_block(calls: Sequence[dict[str, Any]], limit: int = 3, chars: int = 320) -> str:
    """The delimited block of tool results the LLM reads (data, never instructions). Kept short: on a small CPU
    the prompt's length is most of the model's time."""
    lines: list[str] = []
    for call in calls:
        kept = facts(call, with_ids=False)[: 1 if call["name"] == "policy_answer" else limit]
        lines.extend(line[:chars] for line in kept)
    return f"{DATA_OPEN}\n" + "\n".join(lines) + f"\n{DATA_CLOSE}"


def template(calls: Sequence[dict[str, Any]], limit: int = 5) -> str:
    """A grounded reply from the tool results alone."""
    parts: list[str] = []
    for call in calls:
        lines = facts(call)
        name = call["name"]
        if name in ("search_products", "recommend_for_me") and call["result"].get("products"):
            lead = "Here are some picks for you:" if name == "recommend_for_me" else "Here is what I found:"
            parts.append(lead + "\n" + "\n".join(lines[:limit]))
        elif name == "policy_answer":
            parts.append(policy_quote(call["result"]))
        elif call["result"].get("not_carried"):
            parts.append(" ".join(lines))
        else:
            parts.append("\n".join(lines))
    return "\n".join(parts) if parts else REFUSAL


def listing(calls: Sequence[dict[str, Any]], limit: int = 5) -> str:
    """The product or order lines shown under a generated lead sentence."""
    out: list[str] = []
    for call in calls:
        if call["name"] in ("search_products", "recommend_for_me", "compare_products", "product_details",
                            "order_status", "start_return"):  # fmt: skip
            out.extend(facts(call)[:limit])
    return "\n".join(out)
