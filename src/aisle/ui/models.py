"""The REST API's request and response bodies (pydantic), which are also its OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aisle.pipeline.request import MAX_QUERY_CHARS

MAX_TOP_K = 100
MAX_ID_CHARS = 200
MAX_MESSAGE_CHARS = 2_000
MAX_EVENTS = 1_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a photo to search by
MAX_JSON_BYTES = 1024 * 1024  # any other body

FilterValue = str | int | float | bool | list[str | int | float]


class SearchBody(BaseModel):
    """`aisle search --json`'s options as a JSON body (the photo comes as multipart, see SearchForm)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(default="", max_length=MAX_QUERY_CHARS, description="What the shopper typed.")
    filters: dict[str, FilterValue] = Field(
        default_factory=dict,
        max_length=32,
        description='FIELD -> value, a list of values (any of them), or "LOW..HIGH" for numbers.',
    )
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    mode: Literal["bm25", "dense", "image", "hybrid"] = "hybrid"
    user: str | None = Field(default=None, max_length=MAX_ID_CHARS, description="Shopper id: personalised ranking.")
    rerank: bool = True
    fusion: Literal["rrf", "dbsf"] = "rrf"
    explain: bool = Field(default=False, description="Add each retriever's score per hit ('why this result').")
    personalize: bool = Field(
        default=True,
        description="Let the shopper's history re-order the results (false: the anonymous ranking). Personalised "
        "hits carry `scores.personal` and, when the history explains them, `personal_reason`.",
    )


def search_form_schema(*, with_image: bool = True) -> dict[str, Any]:
    """The form of POST /api/search: SearchBody's fields as form fields, plus the photo (multipart)."""
    body = SearchBody.model_json_schema()
    properties = {k: v for k, v in body["properties"].items() if k != "filters"}
    properties["filters"] = {"type": "string", "description": 'The filters as a JSON object, e.g. {"gender": "Men"}.'}
    if with_image:
        properties["image"] = {"type": "string", "format": "binary", "description": "A photo (at most 10 MB)."}
    return {"type": "object", "properties": properties, "additionalProperties": False}


class SearchOut(BaseModel):
    query: str
    results: list[dict[str, Any]] = Field(description="Ranked hits: id, score, title and the product's fields.")
    timings_ms: dict[str, float]
    understood: dict[str, Any] = Field(default_factory=dict, description="Attributes recognised in the query.")


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    session_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    user: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    stream: bool = Field(default=True, description="NDJSON lines (text deltas, then the final reply) or one object.")


class ChatOut(BaseModel):
    reply: str
    products: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    grounded: bool
    session_id: str | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_CHARS, description="The shopper (default: the token's subject)."
    )
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="The sender's id for this event: sending it again is recognised as a duplicate.",
    )
    product_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    type: Literal["view", "click", "add_to_cart", "purchase"]
    timestamp: datetime | None = Field(default=None, description="When it happened (default: now).")
    query: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)


class EventsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsOut(BaseModel):
    recorded: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events already stored (same event_id), not stored again.")


class Health(BaseModel):
    status: str
    collection: str
    products: int
    uptime_s: float


class ErrorOut(BaseModel):
    detail: Any = Field(description="What was wrong with the request.")


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "A missing, invalid or expired bearer token where one is needed"},
    403: {"model": ErrorOut, "description": "The token's subject may not act for the user named"},
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A request that cannot be answered as asked"},
    413: {"model": ErrorOut, "description": "The body is too large"},
    415: {"model": ErrorOut, "description": "Unsupported content type"},
    422: {"model": ErrorOut, "description": "The body does not match the schema"},
}
