"""What the REST API and the Gradio tabs share: one search pipeline, the assistant, the event store.

One process owns them (an embedded Qdrant Edge shard is opened by one process). Parts built by other packages (the
assistant, the behaviour-event store) load on first use; when one is missing the feature answers with a clear
"not available" message instead of failing the whole server.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.pipeline.request import SearchRequest
from aisle.ui.auth import AuthError, TokenVerifier, bearer

log = logging.getLogger(__name__)

_HIDDEN = ("content_hash", "product_id")
_NOT_FACETS = ("product_id", "currency", "category")
MAX_FACET_VALUES = 40  # a field with more distinct values is not offered as a filter list
SHOPPERS_FILE = "demo/shoppers.json"
ANONYMOUS = "(anonymous)"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
MAX_ID_CHARS = 256  # as the event store's limit


class FeatureUnavailable(RuntimeError):
    """A feature whose component is not installed or not set up; the message says which and how."""


def image_url(product_id: str) -> str:
    from urllib.parse import quote

    return f"/api/products/{quote(product_id, safe='')}/image"


def add_image_url(product: dict[str, Any]) -> dict[str, Any]:
    """`product` with `image_url` set when it has an id and a stored photo (the API serves photos by id)."""
    if product.get("id") and product.get("image") and "image_url" not in product:
        product["image_url"] = image_url(str(product["id"]))
    return product


def product_url(product_id: str) -> str:
    from urllib.parse import quote

    return f"/products/{quote(product_id, safe='')}"


def public_product(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload as the API shows it: the id first, internal fields hidden, an image URL added."""
    product_id = str(payload.get("product_id", payload.get("id", "")))
    out: dict[str, Any] = {"id": product_id}
    out.update({k: v for k, v in payload.items() if k not in _HIDDEN and k not in ("id", "image_url")})
    return add_image_url(out)


def serving(pipeline: Any) -> Any:
    """The pipeline with its query encoders batched: concurrent requests share forward passes. Other
    pipelines (any object with `search`, as tests and embedders may pass) are served as they are."""
    from aisle.pipeline.search import SearchPipeline

    if isinstance(pipeline, SearchPipeline):
        pipeline.encoders = pipeline.encoders.batched()
    return pipeline


class AisleService:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        pipeline: Any = None,
        collection: str | None = None,
        assistant: Any = None,
        events: Any = None,
        verifier: TokenVerifier | None = None,
        demo: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        self.verifier = verifier or TokenVerifier.from_settings(self.settings)
        self.demo = demo  # the demo's shoppers may be picked in the UI without signing in (demo identities)
        self.collection = collection or (pipeline.index.name if pipeline is not None else self.settings.collection)
        self._pipeline = serving(pipeline) if pipeline is not None else None
        self._assistant = assistant
        self._events = events
        self._facets: dict[str, list[tuple[str, int]]] | None = None
        self._lock = threading.RLock()  # re-entrant: building the assistant reads self.pipeline
        self._latencies: deque[float] = deque(maxlen=5000)
        self.started = time.time()

    # -- search ----------------------------------------------------------------------------------------------
    def _lazy(self, attr: str, build: Callable[[], Any]) -> Any:
        """`self.<attr>`, built once on first use (double-checked under the lock)."""
        if getattr(self, attr) is None:
            with self._lock:
                if getattr(self, attr) is None:
                    setattr(self, attr, build())
        return getattr(self, attr)

    @property
    def pipeline(self) -> Any:
        def build() -> Any:
            from aisle.pipeline.search import SearchPipeline

            return serving(SearchPipeline.open(self.collection, self.settings))

        return self._lazy("_pipeline", build)

    def warm_up(self) -> None:
        """Load the models and the query vocabulary before the first shopper waits for them."""
        self.pipeline.warm_up()
        self.facets()
        try:
            assistant = self.assistant
        except FeatureUnavailable as exc:
            log.warning("%s", exc)
        else:
            if hasattr(assistant, "warm_up"):
                assistant.warm_up()

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """The search contract's JSON, with an `image_url` per result; QueryError for bad queries."""
        started = time.perf_counter()
        response = self.pipeline.search(request).to_json()
        for hit in response["results"]:
            add_image_url(hit)
        self._latencies.append((time.perf_counter() - started) * 1000)
        return response

    def latency(self) -> dict[str, Any]:
        """p50/p95/p99 of the searches this process has served (ms)."""
        values = np.array(self._latencies, dtype=float)
        if values.size == 0:
            return {"count": 0}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"count": int(values.size), "p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2)}

    # -- products --------------------------------------------------------------------------------------------
    def product(self, product_id: str) -> dict[str, Any] | None:
        found = self.pipeline.index.get([product_id])
        return public_product(found[0]) if found else None

    def products(self, product_ids: Sequence[str]) -> list[dict[str, Any]]:
        return [public_product(p) for p in self.pipeline.index.get(list(product_ids))]

    def record_click(self, user: str, product_id: str, query: str | None = None) -> bool:
        """Store a shopper's click on a shown product (the UI's in-session signal: the next search reads it).
        False, and nothing stored, for a product the collection does not hold."""
        from aisle.types import BehaviourEvent, EventType

        product_id = product_id.strip()[:MAX_ID_CHARS]
        if not product_id or not self.pipeline.index.get([product_id]):
            return False
        event = BehaviourEvent(user, product_id, EventType.CLICK, datetime.now(UTC), query, uuid.uuid4().hex)
        return bool(self.events.record([event]))

    def image_path(self, product_id: str) -> Path | None:
        """The photo file recorded for this product at ingest, if it is a local image file (never any other path)."""
        found = self.pipeline.index.get([product_id])
        image = found[0].get("image") if found else None
        if not image or not isinstance(image, str) or "://" in image:
            return None
        path = Path(image)
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            return None
        return path

    def facets(self) -> dict[str, list[tuple[str, int]]]:
        """Keyword fields with a short list of values (colour, gender, article type, ...), most common first."""
        if self._facets is None:
            fields = [
                f for f, kind in self.pipeline.filter_fields.items() if kind == "keyword" and f not in _NOT_FACETS
            ]
            counts = self.pipeline.index.facets(fields, limit=MAX_FACET_VALUES + 1)
            self._facets = {
                f: [(str(v), int(c)) for v, c in values]
                for f, values in counts.items()
                if 1 < len(values) <= MAX_FACET_VALUES
            }
        return self._facets

    def count(self) -> int:
        return int(self.pipeline.index.count())

    # -- optional parts --------------------------------------------------------------------------------------
    @property
    def assistant(self) -> Any:
        def build() -> Any:
            try:
                from aisle.assistant.service import Assistant
            except ImportError as exc:
                raise FeatureUnavailable(
                    "the chat assistant is not available in this build (aisle.assistant is missing)"
                ) from exc
            return Assistant.open(self.settings, pipeline=self.pipeline)

        return self._lazy("_assistant", build)

    @property
    def events(self) -> Any:
        def build() -> Any:
            try:
                from aisle.personal.events import EventStore
            except ImportError as exc:
                raise FeatureUnavailable(
                    "behaviour events are not available in this build (aisle.personal.events is missing)"
                ) from exc
            return EventStore.open(self.settings)

        return self._lazy("_events", build)

    def ui_shopper(self, choice: str | None, authorization: str | None, cookie_token: str | None) -> str | None:
        """Who a UI event acts for: the subject of the request's token (an `Authorization: Bearer` header, or
        the `aisle_token` cookie that the shop's login sets), else in the demo a demo shopper picked from the
        list, else nobody (anonymous). AuthError when a token is bad or a pick is not a demo identity."""
        token = bearer(authorization) or cookie_token
        if token:
            return self.verifier.verify(token).subject
        if not choice or choice == ANONYMOUS:
            return None
        if self.demo and choice in self.shoppers():
            return choice
        raise AuthError(401, "sign in to act as a shopper (only the demo offers demo identities)")

    def shoppers(self) -> list[str]:
        """The demo's shopper ids (demo identities, only when serving the demo)."""
        if not self.demo:
            return []
        path = self.settings.home / SHOPPERS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [str(s) for s in data if isinstance(s, str | int)] if isinstance(data, list) else []

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "collection": self.collection,
            "products": self.count(),
            "uptime_s": round(time.time() - self.started, 1),
        }
