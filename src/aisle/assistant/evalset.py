"""The assistant evaluation's own data: a small packaged catalogue (with products whose descriptions carry
injected instructions) and the scenario conversations (`data/scenarios.json`)."""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

from aisle.config import Settings
from aisle.types import Product

EVAL_COLLECTION = "assistant-eval"


def eval_products() -> list[Product]:
    text = (importlib.resources.files("aisle.assistant") / "data" / "eval_catalog.jsonl").read_text(encoding="utf-8")
    return [Product.from_record(json.loads(line)) for line in text.splitlines() if line.strip()]


def ingest_eval_catalogue(settings: Settings, collection: str = EVAL_COLLECTION, engine: Any = None) -> str:
    """Ingest the packaged catalogue into `collection` (idempotent: unchanged products are skipped)."""
    from aisle.pipeline.ingest import ingest_products

    ingest_products(eval_products(), collection, settings=settings, engine=engine, progress=False)
    return collection


def load_scenarios() -> list[dict[str, Any]]:
    raw = (importlib.resources.files("aisle.assistant") / "data" / "scenarios.json").read_text(encoding="utf-8")
    scenarios = json.loads(raw)
    names = [s["name"] for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError("scenario names must be unique")
    return scenarios
