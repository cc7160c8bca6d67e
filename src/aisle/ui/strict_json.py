"""JSON bodies of the REST API, checked at the door: a body that Python's json module would take but the
rest of the server cannot handle gets a 4xx with a one-line `detail` before any route sees it.

Python's `json` accepts `NaN` and `Infinity` (not JSON), strings with lone surrogates (`"\\ud800"`, which
cannot be encoded as UTF-8 later) and nesting deep enough to exhaust the stack; each of these reached a
route and ended in a 500. Routes that take only JSON get 415 for any other content type.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aisle.ui.limits import content_type, refuse

MAX_DEPTH = 32


class BodyError(ValueError):
    """A request body that is refused: `status` (400, 415) and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _no_constants(name: str) -> Any:
    raise BodyError(400, f"{name} is not a JSON number")


def parse_strict(raw: bytes) -> Any:
    """The parsed JSON of `raw`, refusing invalid UTF-8, NaN/Infinity, lone surrogates and deep nesting."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "the body is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise BodyError(400, f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        if isinstance(exc, BodyError):
            raise
        raise BodyError(400, f"the body is not valid JSON ({exc.args[0] if exc.args else exc})") from None
    _check(value, 0)
    return value


def _check(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BodyError(400, f"the JSON is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(400, "the JSON holds text that is not valid Unicode (a lone surrogate escape)") from None


class StrictJson:
    """ASGI middleware for `/api/` POSTs: JSON bodies are checked by `parse_strict` and then passed on as
    they came; paths in `json_only` refuse other content types with 415. Sits inside BodyLimit, so the
    body it reads is already capped."""

    def __init__(self, app: ASGIApp, *, json_only: tuple[str, ...] = ()) -> None:
        self.app = app
        self.json_only = json_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        kind = content_type(scope)
        if kind != "application/json":
            if path in self.json_only:
                await refuse(send, 415, "send the body as application/json")
                return
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            try:
                message = await receive()
            except HTTPException as exc:  # BodyLimit counted past its cap
                await refuse(send, exc.status_code, str(exc.detail))
                return
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            parse_strict(raw)
        except BodyError as exc:
            await refuse(send, exc.status, str(exc))
            return
        await self.app(scope, _replay([{"type": "http.request", "body": raw, "more_body": False}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A `receive` that hands out `messages`, then defers to `then` (a disconnect, later)."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
