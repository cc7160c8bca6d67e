"""The PersonalRanker Protocol: what the search pipeline asks of its personal step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class PersonalRanker(Protocol):
    """The personal step: re-orders hits for a shopper, told what the query fixed (see
    `aisle.personal.personalizer.Personalizer`)."""

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
