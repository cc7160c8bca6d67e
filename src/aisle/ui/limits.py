"""Request-size limits for the REST API and the UI: a body over the limit gets 413 before it is read into
memory, and a photo's pixel count is read from its header before anything decodes it."""

from __future__ import annotations

import io
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_IMAGE_PIXELS = 40_000_000
TOO_MANY_PIXELS = f"the photo has more than {MAX_IMAGE_PIXELS:,} pixels"
NOT_AN_IMAGE = "the uploaded file is not a readable image"


class PhotoRefused(ValueError):
    """A photo that cannot be searched by: `status` is the HTTP status that says why (400 or 413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_photo(data: bytes) -> bytes | None:
    """The photo bytes (None when empty), refused when they are not an image or their header claims more
    than MAX_IMAGE_PIXELS pixels (nothing is decoded here)."""
    from PIL import Image

    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
    except Image.DecompressionBombError:  # PIL's own cap, far above ours: its header claims a huge picture
        raise PhotoRefused(413, TOO_MANY_PIXELS) from None
    except Exception:  # PIL raises many kinds for foreign bytes; every one means "not an image"
        raise PhotoRefused(400, NOT_AN_IMAGE) from None
    if width * height > MAX_IMAGE_PIXELS:
        raise PhotoRefused(413, f"the photo is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels")
    return data


class BodyLimit:
    """Caps the request body of `/api/` paths: by Content-Length up front, and by counting the bytes of a
    chunked body as it arrives (whoever reads it then gets a 413 HTTPException). Only a multipart form to an
    upload path may be as large as a photo; any other body is held to `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_bytes: int, upload_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        upload = path in self.upload_paths and content_type(scope) == "multipart/form-data"
        limit = self.upload_bytes if upload else self.max_bytes  # a photo only comes in a multipart form
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await refuse(send, 413, f"the request body is {declared:,} bytes; the limit is {limit:,}")
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"the request body is over the limit of {limit:,} bytes")
            return message

        await self.app(scope, counted, send)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def content_type(scope: Scope) -> str:
    """The request's media type, lower case, without parameters ("" when none)."""
    return (_header(scope, b"content-type") or "").split(";")[0].strip().lower()


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer with `status` and a JSON `detail`, before any route runs."""
    body: Any = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
