"""The product collection's layout: named vectors, the sparse vector, payload fields and indexes.

Payload = the product record, with attributes also flattened to top-level keys, so that filters and
facets address `colour` rather than `attributes.colour`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from aisle.encoders.base import EncoderInfo
from aisle.types import Product

TEXT, IMAGE, CLIP_TEXT, BM25 = "text", "image", "clip_text", "bm25"
# product fields that are filterable besides the attributes; the type decides the payload index
CORE_FIELDS: dict[str, str] = {
    "brand": "keyword",
    "category": "keyword",
    "price": "float",
    "in_stock": "bool",
    "currency": "keyword",
    "rating": "float",
    "product_id": "keyword",
}
_POINT_NAMESPACE = uuid.UUID("6f1c1f8e-5d0b-4a53-9c55-2f7e7a1d9c01")


def point_id(product_id: str) -> str:
    """A stable point id for a product id: re-ingesting the same product overwrites the same point."""
    return str(uuid.uuid5(_POINT_NAMESPACE, product_id))


@dataclass(frozen=True, slots=True)
class CollectionLayout:
    """Which vectors a collection has and with which encoders they were made."""

    text: EncoderInfo
    sparse: EncoderInfo
    image: EncoderInfo | None = None  # CLIP image tower; None when no CLIP model is configured
    clip_text: EncoderInfo | None = None

    def encoders(self) -> dict[str, EncoderInfo]:
        named = {TEXT: self.text, BM25: self.sparse, IMAGE: self.image, CLIP_TEXT: self.clip_text}
        return {name: info for name, info in named.items() if info is not None}

    def fingerprint(self) -> str:
        spaces = {name: info.space for name, info in self.encoders().items()}
        return hashlib.sha1(json.dumps(spaces, sort_keys=True).encode()).hexdigest()[:12]


def document_text(product: Product) -> str:
    """The text that the `text` and `bm25` vectors are made of: title first, then the facts that describe it."""
    parts = [product.title]
    if product.brand and product.brand not in product.title:
        parts.append(product.brand)
    parts.extend(v for v in dict.fromkeys([*product.category_path, *product.attributes.values()]) if v)
    if product.description:
        parts.append(product.description)
    return ". ".join(parts)


def payload_for(product: Product, content_hash: str) -> dict[str, Any]:
    record = product.to_record()
    payload: dict[str, Any] = {k: v for k, v in record.items() if k not in ("id", "attributes")}
    payload["product_id"] = product.id
    payload["category"] = list(product.category_path)
    payload["attributes"] = dict(product.attributes)
    for key, value in product.attributes.items():
        payload.setdefault(key, value)
    payload["content_hash"] = content_hash
    return payload


def content_hash(product: Product, layout: CollectionLayout) -> str:
    """Changes when the product or the encoders change: the signal to re-embed a point."""
    data = json.dumps([product.to_record(), layout.fingerprint()], sort_keys=True, default=str)
    return hashlib.sha1(data.encode()).hexdigest()[:16]
