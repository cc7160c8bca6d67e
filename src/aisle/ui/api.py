"""The REST API: search (JSON or multipart with a photo), chat (NDJSON stream), events, products, health.

Bad input gets a 4xx with a one-line `detail`, never a 5xx: 400 for a query that cannot be answered as
asked, 404 for an unknown product, 413 for a body over the limits, 415 for another content type, 422 for a
body that does not match the schema.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import ValidationError

from aisle.pipeline.request import QueryError, SearchRequest
from aisle.ui.auth import EVENTS_IMPORT, AuthError, Identity, acting_user, bearer
from aisle.ui.limits import PhotoRefused, check_photo
from aisle.ui.models import (
    AUTH_ERRORS,
    ERRORS,
    MAX_ID_CHARS,
    MAX_UPLOAD_BYTES,
    ChatBody,
    ChatOut,
    ErrorOut,
    EventsBody,
    EventsOut,
    Health,
    SearchBody,
    SearchOut,
    search_form_schema,
)
from aisle.ui.service import AisleService, FeatureUnavailable, add_image_url

log = logging.getLogger(__name__)
_NDJSON = 'one JSON object a line: {"type": "delta", "text"} ..., then {"type": "final", "reply", ...}'
ProductId = Path(min_length=1, max_length=MAX_ID_CHARS)
# documents the bearer token in the OpenAPI schema; the token itself is read and checked by `_identity`
_BEARER = HTTPBearer(auto_error=False, description="A signed token (JWT) from the shop's login; its `sub` is the user.")

_SEARCH_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": SearchBody.model_json_schema()},
        "multipart/form-data": {"schema": search_form_schema()},
        "application/x-www-form-urlencoded": {"schema": search_form_schema(with_image=False)},
    },
}


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError(exc.errors(include_url=False, include_context=False))


def _auth_failed(exc: AuthError) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return HTTPException(exc.status, exc.detail, headers=headers)


def request_identity(request: Request, _token: Annotated[Any, Depends(_BEARER)]) -> Identity | None:
    """The verified identity of the request's bearer token; None without one, 401 for a bad one."""
    try:
        token = bearer(request.headers.get("authorization"))
        return None if token is None else request.app.state.service.verifier.verify(token)
    except AuthError as exc:
        raise _auth_failed(exc) from None


Who = Annotated[Identity | None, Depends(request_identity)]


async def _search_request(request: Request, identity: Identity | None) -> SearchRequest:
    """A SearchRequest from a JSON body, or from a multipart form with an optional photo."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    image: bytes | None = None
    if kind == "application/json":
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise HTTPException(422, "the body must be a JSON object")
    elif kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=1, max_fields=16, max_part_size=64 * 1024)
        data = {}
        for key, value in form.multi_items():
            if key == "image":
                if isinstance(value, str):
                    raise HTTPException(422, "image must be a file upload")
                if value.size is not None and value.size > MAX_UPLOAD_BYTES:
                    raise HTTPException(413, f"the photo is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
                image = await value.read()
            elif not isinstance(value, str):
                raise HTTPException(422, f"field {key!r} must be text, not a file")
            elif key == "filters":
                try:
                    data["filters"] = json.loads(value) if value.strip() else {}
                except ValueError:
                    raise HTTPException(400, 'filters must be a JSON object, e.g. {"gender": "Men"}') from None
            else:
                data[key] = value
    else:
        raise HTTPException(415, "send application/json, or multipart/form-data with an image file")
    try:
        body = SearchBody.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    try:
        user = acting_user(identity, body.user, "personalised ranking")
    except AuthError as exc:
        raise _auth_failed(exc) from None
    if image is not None:
        image = _checked_image(image)
    return SearchRequest(
        query=body.query,
        image=image,
        user=user,
        filters=dict(body.filters),
        top_k=body.top_k,
        mode=body.mode,
        rerank=body.rerank,
        fusion=body.fusion,
        explain=body.explain,
        personalize=body.personalize,
    )


def _checked_image(data: bytes) -> bytes | None:
    try:
        return check_photo(data)
    except PhotoRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None


def _ndjson(parts: Iterator[Any]) -> Iterator[bytes]:
    """Text deltas as they come, then the final reply (or an error line: the status is already sent)."""
    try:
        for part in parts:
            if isinstance(part, str):
                yield (json.dumps({"type": "delta", "text": part}, ensure_ascii=False) + "\n").encode()
            else:
                final = _reply_json(part)
                yield (json.dumps({"type": "final", **final}, ensure_ascii=False) + "\n").encode()
    except Exception as exc:  # the stream has begun: report the failure in it rather than cutting it off
        log.exception("chat stream failed")
        yield (json.dumps({"type": "error", "detail": f"the assistant failed: {exc}"}) + "\n").encode()


def _reply_json(reply: Any) -> dict[str, Any]:
    out = dict(reply.to_json())
    out.setdefault("session_id", getattr(reply, "session_id", None))
    out["products"] = [add_image_url(dict(product)) for product in out.get("products") or []]
    return out


def build_router(service: AisleService) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_model=Health, responses={503: {"model": ErrorOut}}, tags=["service"])
    def healthz() -> Any:
        """Whether the server can search its collection (and how many products it holds)."""
        try:
            return service.health()
        except Exception as exc:  # a missing collection, an unreachable Qdrant: unhealthy, and say why
            return JSONResponse({"detail": f"not ready: {exc}"}, status_code=503)

    @router.post(
        "/api/search",
        response_model=SearchOut,
        responses={**ERRORS, **AUTH_ERRORS},
        openapi_extra={"requestBody": _SEARCH_BODY},
        tags=["search"],
    )
    async def search(request: Request, who: Who) -> Any:
        """Search the catalogue: the JSON of `aisle search --json`; a photo goes in a multipart form. With a
        bearer token, results are personalised for its subject (`user`, if given, must be that subject)."""
        search_request = await _search_request(request, who)
        try:
            return JSONResponse(await run_in_threadpool(service.search, search_request))
        except QueryError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.post(
        "/api/chat",
        response_model=ChatOut,
        responses={
            200: {"content": {"application/x-ndjson": {"schema": {"type": "string", "description": _NDJSON}}}},
            **ERRORS,
            **AUTH_ERRORS,
            503: {"model": ErrorOut, "description": "The assistant is not available"},
        },
        tags=["chat"],
    )
    def chat(body: ChatBody, who: Who) -> Any:
        """Ask the assistant. With stream=true (default) the reply comes as NDJSON lines: {"type": "delta",
        "text"} as it is written, then {"type": "final", "reply", "products", "tool_calls", "grounded", "citations"}.
        Orders and a session started with a token are the token subject's only."""
        if not body.message.strip():
            raise HTTPException(400, "empty message")
        try:
            user = acting_user(who, body.user, "a customer's chat")
        except AuthError as exc:
            raise _auth_failed(exc) from None
        try:
            assistant = service.assistant
        except FeatureUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        try:
            if not body.stream:
                reply = assistant.reply(body.message, session_id=body.session_id, user=user)
                return JSONResponse(_reply_json(reply))
            parts = assistant.stream(body.message, session_id=body.session_id, user=user)
            first = next(parts, None)  # a message the assistant refuses fails here, before any byte is sent
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return StreamingResponse(_ndjson(itertools.chain([first] if first is not None else [], parts)),
                                 media_type="application/x-ndjson")  # fmt: skip

    @router.post(
        "/api/events",
        response_model=EventsOut,
        responses={
            **ERRORS,
            **AUTH_ERRORS,
            503: {"model": ErrorOut, "description": "The event store is not available"},
        },
        tags=["events"],
    )
    def events(body: EventsBody, who: Who) -> Any:
        """Record shoppers' behaviour (views, clicks, add-to-cart, purchases) for personalised ranking. Events
        are the token subject's own (`user` may be left out); a token with the `events:import` scope (the
        shop's backend) may record any shopper's. An event sent again with the same `event_id` is counted
        as a duplicate, not stored twice."""
        from aisle.types import BehaviourEvent, EventType

        if who is None:
            raise _auth_failed(AuthError(401, "recording events needs a bearer token"))
        for e in body.events:
            if e.user is not None and e.user != who.subject and not who.may(EVENTS_IMPORT):
                raise _auth_failed(
                    AuthError(403, f"the token is for {who.subject!r}; it may not record {e.user!r}'s events")
                )
        try:
            store = service.events
        except FeatureUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        now = datetime.now(UTC)
        records = [
            BehaviourEvent(
                user=e.user or who.subject,
                product_id=e.product_id,
                type=EventType(e.type),
                timestamp=(e.timestamp if e.timestamp.tzinfo else e.timestamp.replace(tzinfo=UTC))
                if e.timestamp
                else now,
                query=e.query,
                # without the sender's id, each event in the body is a distinct event (none is a retry)
                event_id=e.event_id or uuid.uuid4().hex,
            )
            for e in body.events
        ]
        try:
            recorded = int(store.record(records))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"recorded": recorded, "duplicates": len(records) - recorded}

    @router.get("/api/products/{product_id}", responses={404: {"model": ErrorOut}}, tags=["products"])
    def product(product_id: str = ProductId) -> dict[str, Any]:
        """One product's stored fields."""
        found = service.product(product_id)
        if found is None:
            raise HTTPException(404, f"no product {product_id!r}")
        return found

    @router.get(
        "/api/products/{product_id}/image",
        response_class=FileResponse,
        responses={200: {"content": {"image/*": {}}}, 404: {"model": ErrorOut}},
        tags=["products"],
    )
    def product_image(product_id: str = ProductId) -> Any:
        """The product's photo (only the file recorded for it at ingest)."""
        path = service.image_path(product_id)
        if path is None:
            raise HTTPException(404, f"no photo for product {product_id!r}")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    return router
