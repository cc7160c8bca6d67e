"""The Ranker Protocol: re-scores first-stage candidates for a query (and, when given, a shopper)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Ranker(Protocol):
    name: str

    def rerank(self, query: str, hits: Sequence[dict[str, Any]], user: str | None = None) -> list[dict[str, Any]]:
        """The hits re-ordered (new dicts; `score` replaced, the first-stage score kept as `scores['fused']`)."""
        ...


@runtime_checkable
class PersonalRanker(Protocol):
    """The personal step: re-orders hits for a shopper, told what the query fixed (see
    `aisle.ranking.personalizer.Personalizer`)."""

    name: str

    def rerank(
        self,
        query: str,
        hits: Sequence[dict[str, Any]],
        user: str | None = None,
        *,
        fixed: Mapping[str, str] | None = None,
        named: int = 0,
        pool: int | None = None,
    ) -> list[dict[str, Any]]: ...

    def profile_vector(self, user: str, named: int = 0) -> Any:
        """The shopper's profile in the collection's text-vector space, or None (no history, or a blend that
        would not move this search)."""
        ...
