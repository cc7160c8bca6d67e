"""Product question or policy question? Rules on top of the intent model for the cases it confuses: a product
question is never answered with a policy ("do you sell laptops?"), and a question about a policy topic is never
answered with a product search ("can I exchange jeans for a bigger size?")."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aisle.assistant.slots import Slots

POLICY_TOPIC = re.compile(
    r"\b(return\w*|refund\w*|exchang\w*|send (it |them )?back|money|ship\w*|deliver\w*|dispatch\w*|courier\w*|"
    r"pick-?up|track\w*|postage|warrant\w*|guarantee\w*|repair\w*|defect\w*|faulty|broke\w*|came off|fell off|"
    r"torn|ripped|damage\w*|pay\w*|card|cards|upi|cod|cash|emi|instal\w*|wallet\w*|net banking|otp|cvv|"
    r"privacy|personal (data|information|details)|my data|data|collect\w*|transcripts?|chat logs?|this chat|"
    r"browsing|personalis\w*|personaliz\w*|gdpr|delete my|policy|policies|fees?|charges?|international\w*|abroad|"
    r"overseas|pin ?code|deducted|charged)\b",
    re.IGNORECASE,
)
PRODUCT_ASK = re.compile(
    r"\b(do you (sell|carry|stock|have|do)|have you got|got any|any\b|is there anything|looking for|i'?m after|"
    r"show me|find me|i (need|want)|buy|shop for|where can i (get|find)|can i (order|get|buy))\b",
    re.IGNORECASE,
)
_MY_ORDER = re.compile(r"\bmy (order|parcel|package|delivery|shipment)s?\b", re.IGNORECASE)
_ELLIPTIC = re.compile(r"^\s*(and|what about|how about|and for|also)\b", re.IGNORECASE)
_QUESTION_WORD = re.compile(r"\b(what|how|why|when|who|where|write|tell|explain)\b|\?", re.IGNORECASE)
MAX_PRODUCT_PHRASE_WORDS = 5  # "dog food for a labrador": a bare product phrase, not small talk


def reroute(intent: str, message: str, slots: Slots, last_intent: str | None, brands: Iterable[str] = ()) -> str:
    """The intent after the product-versus-policy rules (`intent` is the model's, no safety rule fired)."""
    asks_product = bool(PRODUCT_ASK.search(message)) or _names(message, brands)
    product_slots = bool(slots.colour or slots.refs or slots.price_max or slots.price_min)
    policy_topic = bool(POLICY_TOPIC.search(message))
    if last_intent == "policy_answer" and _ELLIPTIC.search(message) and len(message.split()) <= 5:
        return "policy_answer"  # "and express?" after a shipping question
    if intent == "policy_answer" and not policy_topic and asks_product:
        return "search_products"
    if (
        intent in ("search_products", "recommend_for_me", "off_topic")
        and policy_topic
        and not (asks_product or product_slots)
    ):
        return "policy_answer"
    no_order = not (slots.order_id or slots.email or _MY_ORDER.search(message))
    if intent == "order_status" and policy_topic and no_order:
        return "policy_answer"  # "how long does delivery take?": no order in it
    if intent == "off_topic" and (asks_product or _bare_phrase(message)):
        return "search_products"
    return intent


def _names(message: str, brands: Iterable[str]) -> bool:
    lowered = message.lower()
    return any(len(b) > 2 and re.search(rf"\b{re.escape(b.lower())}\b", lowered) for b in brands)


def _bare_phrase(message: str) -> bool:
    return len(message.split()) <= MAX_PRODUCT_PHRASE_WORDS and not _QUESTION_WORD.search(message)
