"""Search requests and responses, and the checks that turn bad queries into clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Mode = Literal["bm25", "dense", "image", "hybrid"]
MODES: tuple[str, ...] = ("bm25", "dense", "image", "hybrid")
MAX_QUERY_CHARS = 1_000
MAX_TOP_K = 1_000


class QueryError(ValueError):
    """A query that cannot be answered as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str = ""
    image: Path | bytes | None = None  # a photo to search by (a path or the uploaded bytes)
    user: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    top_k: int = 10
    mode: Mode = "hybrid"
    rerank: bool = True
    fusion: Literal["rrf", "dbsf"] = "rrf"
    explain: bool = False  # per-retriever scores for each hit ("why this result")
    personalize: bool = True  # False: the shopper switched personalisation off (the anonymous order)


@dataclass(frozen=True, slots=True)
class SearchResponse:
    query: str
    results: list[dict[str, Any]]
    timings_ms: dict[str, float]
    understood: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "results": self.results,
            "timings_ms": self.timings_ms,
            "understood": self.understood,
        }


def validate(request: SearchRequest) -> str:
    """The cleaned query text, or QueryError."""
    if request.mode not in MODES:
        raise QueryError(f"unknown mode {request.mode!r}; use one of {', '.join(MODES)}")
    if not 1 <= request.top_k <= MAX_TOP_K:
        raise QueryError(f"top_k must be between 1 and {MAX_TOP_K}, got {request.top_k}")
    text = request.query
    if not isinstance(text, str):
        raise QueryError("the query must be text")
    if "\x00" in text or "\ufffd" in text or sum(not (c.isprintable() or c.isspace()) for c in text) > 2:
        raise QueryError("the query looks like binary data, not text")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    text = " ".join(text.split())
    if not text and request.image is None:
        raise QueryError("empty query: type some words or give a photo")
    if request.mode in ("bm25", "dense") and not text:
        raise QueryError(f"mode {request.mode!r} needs query text")
    return text
