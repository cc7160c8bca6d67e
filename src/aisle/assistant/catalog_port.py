"""What the assistant asks of product search: search, products by id, a field's values. The search pipeline
provides it; the assistant never reaches the index or the engine beneath."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aisle.pipeline.request import SearchRequest, SearchResponse


class ProductSearch(Protocol):
    filter_fields: Mapping[str, str]

    def search(self, request: SearchRequest) -> SearchResponse: ...

    def get(self, product_ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def facet_values(self, field: str, limit: int = 500) -> list[str]: ...
