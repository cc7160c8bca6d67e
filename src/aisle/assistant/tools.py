"""The assistant's tools, typed LangChain tools over the search pipeline, the orders store and the policies.

A `ToolBox` is built per turn: it knows the logged-in user and the session's state, enforces order ownership
itself (no driver, router or agent, can skip the check), and records every call and result so that the
grounding guard can check the reply against exactly this turn's tool output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from aisle.assistant.carried import CatalogueKinds
from aisle.assistant.catalog_port import ProductSearch
from aisle.assistant.extractive import SentencePicker, expand
from aisle.assistant.memory import SessionState
from aisle.assistant.orders import OrderStore, normalise_order_id
from aisle.assistant.policies import PolicyIndex
from aisle.assistant.redact import get_logger, redact
from aisle.pipeline.request import QueryError

log = get_logger(__name__)
PRODUCT_FIELDS = ("id", "title", "price", "currency", "brand", "colour", "article_type", "gender", "in_stock")
DESCRIPTION_CHARS = 240
NOT_FOUND = "No order matches that order id for this customer. Give the order id and the e-mail used for the order."
# instruction-like text inside product or policy data is neutralised before any model sees it
_INSTRUCTION = re.compile(
    r"(?i)\b(ignore|disregard|forget|override)\b[^.!?\n]{0,80}\b(instructions?|rules|prompt|above|previous)\b[^.!?\n]*"
    r"|\b(system|assistant)\s*:[^\n]*|\byou (must|should) (now )?(say|tell|reply|respond|answer)\b[^.!?\n]*"
)


def neutralise(text: str) -> str:
    return _INSTRUCTION.sub("[instruction-like text removed]", text)


def compact(hit: dict[str, Any], with_description: bool = False) -> dict[str, Any]:
    """The product facts a reply may use (tool output is data: descriptions are neutralised and cut)."""
    out = {k: hit.get(k) for k in PRODUCT_FIELDS if hit.get(k) is not None}
    out["id"] = str(hit.get("id") or hit.get("product_id"))
    if with_description and hit.get("description"):
        out["description"] = neutralise(str(hit["description"]))[:DESCRIPTION_CHARS]
    return out


class SearchArgs(BaseModel):
    query: str = Field(description="What the shopper is looking for, in a few words.")
    colour: str | None = Field(default=None, description="A colour to filter on, e.g. Blue.")
    gender: str | None = Field(default=None, description="Men, Women, Boys, Girls or Unisex.")
    max_price: float | None = Field(default=None, description="Highest price.")
    min_price: float | None = Field(default=None, description="Lowest price.")
    top_k: int = Field(default=5, ge=1, le=20)
    more: bool = Field(default=False, description="The next results of the last search ('show more').")


class ProductArgs(BaseModel):
    product_id: str = Field(description="A product id from earlier search results.")


class CompareArgs(BaseModel):
    product_ids: list[str] = Field(description="Two to four product ids from earlier results.", min_length=2)
    cheapest: bool = Field(default=False, description="The customer asked which is cheapest.")


class RecommendArgs(BaseModel):
    query: str | None = Field(default=None, description="Optional theme, e.g. 'watches'.")


class OrderArgs(BaseModel):
    order_id: str | None = Field(default=None, description="Order id such as ORD-1001; none: the user's orders.")
    email: str | None = Field(default=None, description="E-mail address used for the order (when not logged in).")


class ReturnArgs(BaseModel):
    order_id: str = Field(description="Order id such as ORD-1001.")
    email: str | None = Field(default=None, description="E-mail address used for the order (when not logged in).")
    reason: str | None = Field(default=None, description="Why the item goes back.")


class PolicyArgs(BaseModel):
    question: str = Field(description="The customer's question about shipping, returns, warranty, payment or privacy.")


@dataclass
class ToolBox:
    pipeline: ProductSearch | None  # None when no catalogue is ingested
    orders: OrderStore
    policies: PolicyIndex
    state: SessionState
    user: str | None = None
    kinds: CatalogueKinds | None = None  # what the catalogue carries ("we don't carry that")
    picker: SentencePicker | None = None  # the extractive policy answer
    calls: list[dict[str, Any]] = field(default_factory=list)

    # -- tool bodies ---------------------------------------------------------------------------------------
    def search_products(self, query: str, colour: str | None = None, gender: str | None = None,
                        max_price: float | None = None, min_price: float | None = None, top_k: int = 5,
                        more: bool = False) -> dict[str, Any]:  # fmt: skip
        from aisle.pipeline.request import SearchRequest

        if self.pipeline is None:
            return {"products": [], "error": "no product catalogue is available"}
        shown: list[str] = []
        if more and self.state.last_query:  # the next page of the last search, with its filters
            query, last = self.state.last_query, self.state.last_filters
            colour, gender = last.get("colour"), last.get("gender")
            min_price, max_price = last.get("min_price"), last.get("max_price")
            shown = list(last.get("shown", []))
        fields = self.pipeline.filter_fields
        filters: dict[str, Any] = {}
        text = query.strip() or (colour or "") or "products"
        for name, value in (("colour", colour), ("gender", gender)):
            if not value:
                continue
            if name in fields:
                filters[name] = value.title()
            elif value.lower() not in text.lower():
                text = f"{value} {text}"
        if (min_price is not None or max_price is not None) and "price" in fields:
            filters["price"] = (min_price, max_price)
        wanted = top_k + len(shown)
        response = self.pipeline.search(SearchRequest(query=text, user=self.user, filters=filters, top_k=wanted))
        if not response.results and "colour" in filters:  # a colour the catalogue lacks for this query
            relaxed = {k: v for k, v in filters.items() if k != "colour"}
            response = self.pipeline.search(
                SearchRequest(query=f"{colour} {text}", user=self.user, filters=relaxed, top_k=wanted)
            )
        hits = [h for h in response.results if str(h.get("id") or h.get("product_id")) not in shown][:top_k]
        result: dict[str, Any] = {"query": text, "filters": {k: list(v) if isinstance(v, tuple) else v
                                                            for k, v in filters.items()}}  # fmt: skip
        coverage = self.kinds.coverage(query, response.results[:10]) if self.kinds and not more else None
        if coverage is not None and coverage.missing:
            result |= {"products": [], "not_carried": coverage.missing, "closest": coverage.closest}
            return result
        products = [compact(h) for h in hits]
        result["products"], result["more"] = products, more
        self.state.last_products, self.state.last_query, self.state.focus = products, text, None
        self.state.last_filters = {"colour": colour, "gender": gender, "min_price": min_price, "max_price": max_price,
                                   "shown": shown + [p["id"] for p in products]}  # fmt: skip
        return result

    def _records(self, product_ids: list[str]) -> list[dict[str, Any]]:
        if self.pipeline is None:
            return []
        return [{**r, "id": r.get("product_id")} for r in self.pipeline.get([str(p) for p in product_ids])]

    def product_details(self, product_id: str) -> dict[str, Any]:
        records = self._records([product_id])
        if not records:
            return {"products": [], "error": f"no product with id {product_id}"}
        product = compact(records[0], with_description=True)
        self.state.focus = {k: v for k, v in product.items() if k != "description"}
        return {"products": [product]}

    def compare_products(self, product_ids: list[str], cheapest: bool = False) -> dict[str, Any]:
        products = [compact(r) for r in self._records(product_ids)]
        priced = [p for p in products if p.get("price") is not None]
        lowest = min(priced, key=lambda p: p["price"])["id"] if len(priced) >= 2 else None
        return {"products": products, "cheapest": lowest, "asked_cheapest": cheapest}

    def recommend_for_me(self, query: str | None = None) -> dict[str, Any]:
        theme = query or self.state.last_query or "popular products"
        result = self.search_products(theme, top_k=5)
        result["personalised"] = self.user is not None
        return result

    def _owned(self, order_id: str, email: str | None) -> Any:
        order_id = normalise_order_id(order_id)
        order = self.orders.lookup(order_id, user=self.user, email=email)
        if order is None and order_id in self.state.verified_orders:
            order = self.orders.lookup(order_id, user=self.orders.owner_of(order_id))
        if order is not None:
            self.state.order_id = order.order_id
            if order.order_id not in self.state.verified_orders:
                self.state.verified_orders.append(order.order_id)
        return order

    def order_status(self, order_id: str | None = None, email: str | None = None) -> dict[str, Any]:
        if not order_id:
            if self.user is None:
                return {"found": False, "message": "Give the order id and the e-mail used for the order."}
            return {"found": True, "orders": [o.public() for o in self.orders.orders_of(self.user)]}
        order = self._owned(order_id, email)
        if order is None:
            return {"found": False, "message": NOT_FOUND}
        return {"found": True, "orders": [order.public()]}

    def start_return(self, order_id: str, email: str | None = None, reason: str | None = None) -> dict[str, Any]:
        order = self._owned(order_id, email)
        if order is None:
            return {"found": False, "message": NOT_FOUND}
        return {"found": True, "return": self.orders.start_return(order, reason)}

    def policy_answer(self, question: str) -> dict[str, Any]:
        """The best sections (hybrid retrieval) and the extractive answer: the sentences quoted, and their section."""
        self.state.last_question = question
        sections = self.policies.answer(expand(question))
        quote = (self.picker or SentencePicker(self.policies)).pick(question, sections)
        if quote is None:
            return {"sections": [], "quote": None}
        used = [self.policies.by_key[part.key] for part in quote.parts]
        return {"sections": [{**u.payload(), "text": neutralise(u.text)} for u in used], "quote": quote.to_json()}

    # -- LangChain tools -----------------------------------------------------------------------------------
    def tools(self) -> list[BaseTool]:
        return [
            StructuredTool.from_function(
                func=self._recorded(name, getattr(self, name)), name=name, description=doc, args_schema=schema
            )
            for name, (schema, doc) in TOOLS.items()
        ]

    def _recorded(self, name: str, fn: Any) -> Any:
        def call(**kwargs: Any) -> str:
            return json.dumps(self.call(name, kwargs), default=str)

        return call

    def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run a tool by name with validated arguments; the call and its result join this turn's record."""
        if name not in TOOLS:
            result: dict[str, Any] = {"error": f"unknown tool {name}"}
        else:
            schema = TOOLS[name][0]
            try:
                clean = schema(**args).model_dump()
            except ValueError as exc:
                result = {"error": f"bad arguments for {name}: {exc}"}
            else:
                try:
                    result = getattr(self, name)(**clean)
                except QueryError as exc:  # a search the pipeline refuses (too long, binary): said, not raised
                    result = {"products": [], "error": str(exc)}
        shown_args = {k: ("[email]" if k == "email" and v else v) for k, v in args.items()}
        self.calls.append({"name": name, "args": shown_args, "result": result})
        log.info("tool %s(%s)", name, redact(json.dumps(shown_args, default=str)))
        return result


# name (a method of ToolBox) -> (argument schema, description the LLM reads)
TOOLS: dict[str, tuple[type[BaseModel], str]] = {
    "search_products": (SearchArgs, "Search the catalogue for products."),
    "product_details": (ProductArgs, "Details of one product: price, stock, description."),
    "compare_products": (CompareArgs, "Compare two to four products side by side."),
    "recommend_for_me": (RecommendArgs, "Personal recommendations for the logged-in shopper."),
    "order_status": (OrderArgs, "Status of an order the customer owns."),
    "start_return": (ReturnArgs, "Start a return for a delivered order the customer owns."),
    "policy_answer": (PolicyArgs, "Shop policies: shipping, returns, warranty, payment, privacy."),
}
