"""Demo shoppers for the Myntra demo: synthetic histories, each confined to one kind of product, so that
`--user demo-womens-footwear` visibly re-orders an ambiguous query like "shoes"."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aisle.config import Settings, get_settings
from aisle.personal.events import EventStore
from aisle.types import BehaviourEvent, EventType, Product

# group -> the attribute values its products have (Myntra's gender / master_category / sub_category)
DEMO_GROUPS: dict[str, dict[str, str]] = {
    "womens-footwear": {"gender": "Women", "master_category": "Footwear"},
    "mens-footwear": {"gender": "Men", "master_category": "Footwear"},
    "womens-apparel": {"gender": "Women", "master_category": "Apparel"},
    "mens-watches": {"gender": "Men", "sub_category": "Watches"},
}
_TYPES = (EventType.VIEW, EventType.VIEW, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE)


def shopper_id(group: str) -> str:
    return f"demo-{group}"


def demo_groups(products: Iterable[Product | Mapping[str, Any]], limit: int = 200) -> dict[str, list[str]]:
    """Product ids per demo group from catalogue products (or search-hit / payload dicts with attributes)."""
    out: dict[str, list[str]] = {g: [] for g in DEMO_GROUPS}
    for product in products:
        if isinstance(product, Product):
            pid, attributes = product.id, dict(product.attributes)
        else:
            pid, attributes = str(product.get("id") or product.get("product_id")), dict(product)
            attributes.update(product.get("attributes") or {})
        for group, wanted in DEMO_GROUPS.items():
            if len(out[group]) < limit and all(attributes.get(k) == v for k, v in wanted.items()):
                out[group].append(pid)
    return {g: ids for g, ids in out.items() if ids}


def create_demo_shoppers(
    settings: Settings | None = None,
    product_ids_by_group: Mapping[str, Sequence[str]] | None = None,
    *,
    events_per_shopper: int = 20,
    seed: int = 0,
    store: EventStore | None = None,
) -> dict[str, int]:
    """Write one shopper per group (`demo-<group>`) with a history of that group's products only.

    Idempotent: a shopper's earlier history is replaced. Returns {shopper id: events written}.
    """
    if not product_ids_by_group:
        raise ValueError("no demo product groups: pass product ids per group (see aisle.personal.demo.demo_groups)")
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    owned = store is None
    store = store or EventStore.open(settings or get_settings())
    written = {}
    try:
        for group, ids in product_ids_by_group.items():
            if not ids:
                continue
            user = shopper_id(group)
            picks = [rng.choice(list(ids)) for _ in range(events_per_shopper)]
            events = [
                BehaviourEvent(user, pid, rng.choice(_TYPES), now - timedelta(hours=events_per_shopper - n))
                for n, pid in enumerate(picks)
            ]
            store.forget(user)
            written[user] = store.record(events)
    finally:
        if owned:
            store.close()
    return written
