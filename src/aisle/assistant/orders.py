"""The orders store (SQLite under AISLE_HOME, WAL) and its demo data set.

Orders are visible only to their owner: `lookup` needs the order id and either the logged-in customer id or
the e-mail address on the order; anything else gets the same "not found" answer, so that a guess cannot tell
an existing order from a missing one.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aisle.config import Settings, get_settings
from aisle.sqlite_files import connect, transaction

ORDER_ID = re.compile(r"\bORD-?\d{4,8}\b", re.IGNORECASE)
STATUSES = ("processing", "shipped", "out for delivery", "delivered", "cancelled", "return requested", "refunded")
RETURN_WINDOW_DAYS = 30
_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    placed TEXT NOT NULL,
    delivered TEXT,
    carrier TEXT,
    items TEXT NOT NULL,
    total REAL NOT NULL,
    currency TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS returns (
    return_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(order_id),
    reason TEXT,
    created TEXT NOT NULL
);
"""


def normalise_order_id(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return f"ORD-{digits}"


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    customer_id: str
    email: str
    status: str
    placed: str
    items: list[dict[str, Any]] = field(default_factory=list)
    total: float = 0.0
    currency: str = "INR"
    delivered: str | None = None
    carrier: str | None = None

    def public(self) -> dict[str, Any]:
        """What tools show the owner: never the e-mail address."""
        return {
            "order_id": self.order_id,
            "status": self.status,
            "placed": self.placed,
            "delivered": self.delivered,
            "carrier": self.carrier,
            "items": self.items,
            "total": self.total,
            "currency": self.currency,
        }


class OrderStore:
    """Orders and return requests in one SQLite file; one connection, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = connect(self.path, _SCHEMA)

    @classmethod
    def open(cls, settings: Settings | None = None) -> OrderStore:
        settings = settings or get_settings()
        return cls(settings.home / "stores" / "orders.sqlite")

    def add(self, orders: Sequence[Order]) -> int:
        """Insert orders that are not there yet (idempotent); returns how many were new."""
        rows = [
            (o.order_id, o.customer_id, o.email.lower(), o.status, o.placed, o.delivered, o.carrier,
             json.dumps(o.items), o.total, o.currency)
            for o in orders
        ]  # fmt: skip
        with transaction(self._db, self._lock) as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            return db.total_changes - before

    def _get(self, order_id: str) -> Order | None:
        with self._lock:
            key = (normalise_order_id(order_id),)
            row = self._db.execute("SELECT * FROM orders WHERE order_id = ?", key).fetchone()
        if row is None:
            return None
        oid, customer, email, status, placed, delivered, carrier, items, total, currency = row
        return Order(oid, customer, email, status, placed, json.loads(items), total, currency, delivered, carrier)

    def lookup(self, order_id: str, *, user: str | None = None, email: str | None = None) -> Order | None:
        """The order when the caller owns it (logged-in customer id, or the order's e-mail), else None."""
        order = self._get(order_id)
        if order is None:
            return None
        if user is not None and user == order.customer_id:
            return order
        if email is not None and email.strip().lower() == order.email:
            return order
        return None

    def owner_of(self, order_id: str) -> str | None:
        order = self._get(order_id)
        return None if order is None else order.customer_id

    def orders_of(self, user: str) -> list[Order]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT order_id FROM orders WHERE customer_id = ?", (user,))]
        return [o for o in (self._get(i) for i in sorted(ids)) if o is not None]

    def start_return(self, order: Order, reason: str | None, today: date | None = None) -> dict[str, Any]:
        """Open a return for a delivered order within the return window; says why not otherwise."""
        today = today or date.today()
        if order.status == "return requested":
            return {"ok": False, "order_id": order.order_id, "why": "a return is already open for this order"}
        if order.status != "delivered" or not order.delivered:
            return {"ok": False, "order_id": order.order_id, "why": f"the order is {order.status}, not delivered yet"}
        deadline = date.fromisoformat(order.delivered) + timedelta(days=RETURN_WINDOW_DAYS)
        if today > deadline:
            return {"ok": False, "order_id": order.order_id, "why": f"the return window closed on {deadline}"}
        return_id = f"RET-{order.order_id[4:]}"
        with transaction(self._db, self._lock) as db:
            row = (return_id, order.order_id, reason, str(today))
            db.execute("INSERT OR IGNORE INTO returns VALUES (?,?,?,?)", row)
            db.execute("UPDATE orders SET status = 'return requested' WHERE order_id = ?", (order.order_id,))
        return {"ok": True, "order_id": order.order_id, "return_id": return_id, "refund": order.total,
                "currency": order.currency, "return_by": str(deadline)}  # fmt: skip

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- the demo data set ---------------------------------------------------------------------------------------
DEMO_CUSTOMERS = (
    ("alice", "alice@example.com"),
    ("bob", "bob@example.com"),
    ("chen", "chen.wei@example.org"),
    ("dana", "dana@example.net"),
)
_DEMO_PLAN = (  # (customer index, status, days ago placed, days ago delivered, carrier)
    (0, "delivered", 12, 8, "BlueDart"),
    (0, "shipped", 3, None, "Delhivery"),
    (1, "processing", 1, None, None),
    (1, "delivered", 60, 55, "BlueDart"),
    (2, "out for delivery", 4, None, "Ekart"),
    (2, "cancelled", 20, None, None),
    (3, "delivered", 5, 2, "Delhivery"),
    (3, "shipped", 2, None, "Ekart"),
)


def demo_orders(product_ids: Sequence[str] = (), titles: dict[str, str] | None = None,
                prices: dict[str, float] | None = None, today: date | None = None) -> list[Order]:  # fmt: skip
    """Eight orders of four demo customers (ids ORD-1001..ORD-1008), dated relative to `today`."""
    today = today or date.today()
    titles, prices = titles or {}, prices or {}
    ids = list(product_ids) or [f"demo-{n}" for n in range(1, 9)]
    orders = []
    for n, (who, status, placed, delivered, carrier) in enumerate(_DEMO_PLAN):
        pid = ids[n % len(ids)]
        price = float(prices.get(pid) or 999.0 + 100 * n)
        item = {"product_id": pid, "title": titles.get(pid, f"Demo item {n + 1}"), "quantity": 1, "price": price}
        customer, email = DEMO_CUSTOMERS[who]
        orders.append(
            Order(
                order_id=f"ORD-{1001 + n}",
                customer_id=customer,
                email=email,
                status=status,
                placed=str(today - timedelta(days=placed)),
                items=[item],
                total=price,
                delivered=None if delivered is None else str(today - timedelta(days=delivered)),
                carrier=carrier,
            )
        )
    return orders


def create_demo_orders(settings: Settings | None = None, product_ids: Sequence[str] = (), *,
                       store: OrderStore | None = None, pipeline: Any = None) -> int:  # fmt: skip
    """Create the demo orders store (idempotent: existing orders are kept); returns how many orders were added.

    With `pipeline` (a SearchPipeline), item titles and prices come from the catalogue's own products."""
    titles: dict[str, str] = {}
    prices: dict[str, float] = {}
    if pipeline is not None and product_ids:
        for record in pipeline.get(list(product_ids)):
            titles[str(record.get("product_id"))] = str(record.get("title"))
            if record.get("price") is not None:
                prices[str(record.get("product_id"))] = float(record["price"])
    store = store or OrderStore.open(settings)
    return store.add(demo_orders(product_ids, titles, prices))
