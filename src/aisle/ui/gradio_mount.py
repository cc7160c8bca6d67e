"""Mounting the Gradio UI into the FastAPI app without opening the server's files to its API.

Gradio copies any `FileData` path a client names into its cache and then serves the copy, unless its path
check runs; that check is skipped for Blocks that were mounted rather than `launch()`ed (gradio's
`processing_utils._check_allowed` returns early while `has_launched` is false). So this module:
- gives Gradio a private upload folder (0700) of its own, outside AISLE_HOME, which is blocked outright;
- turns Gradio's path check on, and proves at start-up that it refuses a file no user uploaded;
- lets through only the Gradio routes the browser UI uses (`GradioSurface`); the scripting API
  (`/gradio_api/call/...`, `/info`, MCP, run history, the URL proxy, ...) answers 404 unless
  `Settings.ui_api` asks for it, and every event handler is private (no API name in the docs).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

# Routes of the FastAPI app itself (REST, health, product pages, OpenAPI docs): not Gradio's business.
OWN_PREFIXES = ("/api/", "/healthz", "/products/", "/docs", "/redoc", "/openapi.json")
# What the browser UI needs from Gradio (found by driving it in Chromium; see tests/ui/test_browser.py).
_UI_GET = re.compile(
    r"^/(|config/?|theme\.css|favicon\.ico|robots\.txt|manifest\.json|pwa_icon(/\d+)?|(assets|static|svelte)/.+"
    r"|gradio_api/(theme\.css|heartbeat/[^/]+|queue/data|queue/status|upload_progress|startup-events|app_id/?"
    r"|login_check/?|file=(?!https?:|//).+))$"
)
_UI_POST = re.compile(r"^/gradio_api/(queue/join|upload|cancel|reset/?)$")
# The scripting API, opened only with Settings.ui_api.
_API_GET = re.compile(r"^/gradio_api/(info/?|openapi\.json|call/(v2/)?[^/]+/[^/]+)$")
_API_POST = re.compile(r"^/gradio_api/(call/(v2/)?[^/]+/?|api/[^/]+/?|run/[^/]+/?)$")


def allowed(method: str, path: str, *, api: bool) -> bool:
    """Whether a request for `path` may reach the mounted Gradio app."""
    if path.startswith(OWN_PREFIXES):
        return True
    if method in ("GET", "HEAD"):
        return bool(_UI_GET.match(path) or (api and _API_GET.match(path)))
    if method == "POST":
        return bool(_UI_POST.match(path) or (api and _API_POST.match(path)))
    return False


class GradioSurface:
    """ASGI middleware: 404 for every Gradio route the UI does not use (see `allowed`)."""

    def __init__(self, app: ASGIApp, *, api: bool = False) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not allowed(scope.get("method", "GET"), scope.get("path", ""), api=self.api):
            log.debug("refused %s %s (not part of the UI)", scope.get("method"), scope.get("path"))
            body = b'{"detail":"not found"}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def private_upload_dir() -> Path:
    """Gradio's upload and cache folder for this process: `GRADIO_TEMP_DIR` when the operator set it, else
    a fresh owner-only folder in the system's temp dir. Must be set before any Gradio component is built
    (each copies the folder name when it is created)."""
    configured = os.environ.get("GRADIO_TEMP_DIR")
    if configured:
        return Path(configured)
    folder = Path(tempfile.mkdtemp(prefix="aisle-ui-"))  # mode 0700
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def mount_ui(
    app: Any, blocks: Any, *, blocked: list[Path], api: bool, css: str, js: str | None = None, max_file_size: str
) -> None:
    """Mount `blocks` at `/` of `app` with Gradio's file check on and `blocked` folders never served."""
    import gradio as gr

    if not api:
        for fn in blocks.fns.values():
            fn.api_visibility = "private"
    gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        ssr_mode=False,
        max_file_size=max_file_size,
        css=css,
        js=js,
        blocked_paths=[str(p.resolve()) for p in blocked],
        allowed_paths=[],
        footer_links=["api", "gradio"] if api else ["gradio"],
        run_history=False,
        show_error=False,  # an error names server paths; the handlers report what a shopper needs themselves
    )
    # launch() sets this; mount_gradio_app() does not, and without it Gradio's path check is skipped
    blocks.has_launched = True
    probe = blocked[0] / "probe-that-no-one-uploaded" if blocked else Path("/etc/hostname")
    assert_file_guard(blocks, probe)


def assert_file_guard(blocks: Any, probe: Path) -> None:
    """Fail at start-up, not in production, if Gradio would accept `probe` (a path no user uploaded) as input.

    This calls Gradio's own check the way an event's preprocessing does; if a Gradio upgrade changes it,
    the server refuses to start rather than serving files."""
    from gradio import processing_utils
    from gradio.context import LocalContext
    from gradio.exceptions import InvalidPathError

    token = LocalContext.blocks.set(blocks)
    try:
        processing_utils._check_allowed(str(probe), True)
    except InvalidPathError:
        return
    finally:
        LocalContext.blocks.reset(token)
    raise RuntimeError(
        f"Gradio's file check accepted {probe}, a path no user uploaded: refusing to serve the UI "
        "(is the Gradio version the one pinned in pyproject.toml?)"
    )
