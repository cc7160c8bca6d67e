"""The Ranker Protocol: re-scores first-stage candidates for a query (and, when given, a shopper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Ranker(Protocol):
    name: str

    def rerank(self, query: str, hits: Sequence[dict[str, Any]], user: str | None = None) -> list[dict[str, Any]]:
        """The hits re-ordered (new dicts; `score` replaced, the first-stage score kept as `scores['fused']`)."""
        ...
