"""Importers of real behaviour logs into the EventStore: Online Retail purchases (after the loader's
data-quality pass), MovieLens ratings (RecBole atomic `.inter` or the original `u.data`), and OpenSearch
User Behavior Insights (UBI) event files (JSON lines or a JSON array, as exported from `ubi_events`)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aisle.personal.events import EventStore
from aisle.types import BehaviourEvent, EventType

log = logging.getLogger(__name__)
BATCH = 5_000
# UBI action names -> our event types (anything else, e.g. on_search or brand_filter, is not a product event)
UBI_ACTIONS = {
    "impression": EventType.VIEW,
    "view": EventType.VIEW,
    "product_view": EventType.VIEW,
    "item_view": EventType.VIEW,
    "click": EventType.CLICK,
    "item_click": EventType.CLICK,
    "product_click": EventType.CLICK,
    "add_to_cart": EventType.ADD_TO_CART,
    "add_to_basket": EventType.ADD_TO_CART,
    "purchase": EventType.PURCHASE,
    "checkout": EventType.PURCHASE,
    "order": EventType.PURCHASE,
}


@dataclass(slots=True)
class ImportSummary:
    source: str
    read: int = 0
    stored: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "read": self.read, "stored": self.stored, "skipped": dict(self.skipped)}


def _store_all(store: EventStore, events: Iterable[BehaviourEvent], summary: ImportSummary) -> ImportSummary:
    batch: list[BehaviourEvent] = []
    for event in events:
        summary.read += 1
        batch.append(event)
        if len(batch) >= BATCH:
            summary.stored += store.record(batch)
            batch = []
    summary.stored += store.record(batch)
    log.info("imported %s: %s", summary.source, summary.to_json())
    return summary


def online_retail_events(path: Path, user_prefix: str = "online_retail:") -> Iterator[BehaviourEvent]:
    """One purchase event per clean invoice line (cancellations, guests and non-products are quarantined)."""
    from aisle.catalog.loaders.online_retail import load_online_retail_transactions

    for p in load_online_retail_transactions(path).purchases:
        yield BehaviourEvent(user_prefix + p.customer_id, p.stock_code, EventType.PURCHASE, p.timestamp)


def movielens_ratings(folder: Path) -> list[tuple[str, str, float, int]]:
    """(user, item, rating, unix time) rows from `ml-100k.inter` (RecBole) or `u.data` (GroupLens)."""
    inter = folder / "ml-100k.inter" if folder.is_dir() else folder
    if folder.is_dir() and not inter.exists():
        inter = folder / "u.data"
    if not inter.is_file():
        raise FileNotFoundError(f"no MovieLens ratings in {folder} (expected ml-100k.inter or u.data)")
    rows = []
    with inter.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and ":" in parts[0]:  # RecBole's typed header
                continue
            if len(parts) < 4:
                continue
            rows.append((parts[0], parts[1], float(parts[2]), int(float(parts[3]))))
    return rows


def movielens_events(folder: Path, user_prefix: str = "ml-100k:") -> Iterator[BehaviourEvent]:
    """A rating means the user watched the film: one `view` event per rating."""
    for user, item, _rating, ts in movielens_ratings(folder):
        yield BehaviourEvent(user_prefix + user, item, EventType.VIEW, datetime.fromtimestamp(ts, UTC))


def _ubi_time(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _read_json_records(path: Path) -> Iterator[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from json.loads(stripped)
        return
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            yield record.get("_source", record) if isinstance(record, dict) else record


def ubi_queries(path: Path) -> dict[str, str]:
    """query_id -> user_query from a `ubi_queries` export."""
    return {str(r["query_id"]): str(r.get("user_query") or "") for r in _read_json_records(path) if r.get("query_id")}


def ubi_events(
    path: Path, queries: Mapping[str, str] | None = None, summary: ImportSummary | None = None
) -> Iterator[BehaviourEvent]:
    """Product events of a UBI `ubi_events` export; the user is `user_id`, else `client_id`."""
    queries = queries or {}
    summary = summary or ImportSummary(str(path))
    for record in _read_json_records(path):
        if not isinstance(record, dict):
            summary.skipped["not_an_object"] += 1
            continue
        kind = UBI_ACTIONS.get(str(record.get("action_name", "")).lower())
        obj = (record.get("event_attributes") or {}).get("object") or {}
        user = record.get("user_id") or record.get("client_id")
        if kind is None:
            summary.skipped["not_a_product_action"] += 1
            continue
        if not obj.get("object_id") or not user or not record.get("timestamp"):
            summary.skipped["missing_user_object_or_time"] += 1
            continue
        try:
            when = _ubi_time(record["timestamp"])
        except (ValueError, OverflowError, OSError):
            summary.skipped["invalid_timestamp"] += 1
            continue
        query = queries.get(str(record.get("query_id"))) or record.get("user_query") or None
        yield BehaviourEvent(str(user), str(obj["object_id"]), kind, when, query)


def import_events(store: EventStore, kind: str, path: Path, queries: Path | None = None) -> ImportSummary:
    """Import a log of `kind` (online_retail, movielens, ubi) into the store; idempotent."""
    summary = ImportSummary(f"{kind}:{path}")
    if kind == "online_retail":
        return _store_all(store, online_retail_events(path), summary)
    if kind in ("movielens", "ml-100k"):
        return _store_all(store, movielens_events(path), summary)
    if kind == "ubi":
        mapping = ubi_queries(queries) if queries else None
        return _store_all(store, ubi_events(path, mapping, summary), summary)
    raise ValueError(f"unknown event log kind {kind!r}: use online_retail, movielens or ubi")
