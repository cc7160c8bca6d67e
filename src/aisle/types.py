"""Shared types. Small frozen dataclasses: copy with `dataclasses.replace`, never mutate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Product:
    """One catalogue item after validation and normalisation."""

    id: str
    title: str
    description: str = ""
    brand: str | None = None
    category_path: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)
    price: float | None = None
    currency: str | None = None
    rating: float | None = None
    image: str | None = None  # a local path or a URL
    in_stock: bool = True

    def to_record(self) -> dict[str, Any]:
        """A plain JSON-able dict (the payload stored next to the vectors)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "brand": self.brand,
            "category_path": list(self.category_path),
            "attributes": dict(self.attributes),
            "price": self.price,
            "currency": self.currency,
            "rating": self.rating,
            "image": self.image,
            "in_stock": self.in_stock,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Product:
        return cls(
            id=str(record["id"]),
            title=str(record["title"]),
            description=str(record.get("description") or ""),
            brand=record.get("brand"),
            category_path=tuple(record.get("category_path") or ()),
            attributes=dict(record.get("attributes") or {}),
            price=record.get("price"),
            currency=record.get("currency"),
            rating=record.get("rating"),
            image=record.get("image"),
            in_stock=bool(record.get("in_stock", True)),
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked result. `scores` keeps each retriever's score for "why this result"."""

    product: Product
    score: float
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Term ids and weights (ids are stable across restarts: hashed, not a per-run vocabulary)."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


class EventType(StrEnum):
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"


@dataclass(frozen=True, slots=True)
class BehaviourEvent:
    """A shopper's interaction with a product; `user` is already pseudonymised by the store."""

    user: str
    product_id: str
    type: EventType
    timestamp: datetime
    query: str | None = None
    event_id: str | None = None  # the sender's id, so that a retry is recognised; None: the content is the id
