"""The server: FastAPI with the REST API, and the Gradio UI (Search, Chat, Insights) mounted at `/`."""

from __future__ import annotations

import logging
import os
from typing import Any

from aisle import __version__
from aisle.config import Settings
from aisle.ui.service import AisleService

log = logging.getLogger(__name__)
DESCRIPTION = (
    "aisle's REST API: product search (text and photo), the shopping assistant (streamed), behaviour events "
    "and products. Bad input gets a 4xx with a one-line `detail`."
)


def build_blocks(service: AisleService) -> Any:
    """The Gradio UI: three tabs over one service."""
    import gradio as gr

    from aisle.ui.chat_tab import build_chat_tab
    from aisle.ui.insights_tab import build_insights_tab
    from aisle.ui.search_tab import build_search_tab
    from aisle.ui.shopper_box import build_shopper_box

    with gr.Blocks(title="aisle") as blocks:
        gr.Markdown(f"## aisle  \n{service.count():,} products in `{service.collection}`")
        shopper = build_shopper_box(service)
        with gr.Tab("Search", id="search"):
            build_search_tab(service, shopper)
        with gr.Tab("Chat", id="chat"):
            build_chat_tab(service, shopper)
        with gr.Tab("Insights", id="insights"):
            build_insights_tab(service, blocks)
    # Gradio's default is one running event per handler function across all browsers: every shopper's search
    # waited for everyone else's, and one event that never released its slot (seen in the browser tests:
    # a search queued for minutes with no worker busy) stalled every later search. The service is
    # thread-safe and the REST API already serves requests concurrently.
    return blocks.queue(default_concurrency_limit=None)


def create_app(
    settings: Settings | None = None,
    *,
    collection: str | None = None,
    service: AisleService | None = None,
    pipeline: Any = None,
    ui: bool = True,
) -> Any:
    """The FastAPI app (REST under /api, /healthz, the UI at /). `ui=False` leaves the Gradio UI out."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse

    from aisle.ui import render
    from aisle.ui.api import build_router
    from aisle.ui.gradio_mount import GradioSurface, mount_ui, private_upload_dir
    from aisle.ui.limits import BodyLimit
    from aisle.ui.models import MAX_JSON_BYTES, MAX_UPLOAD_BYTES
    from aisle.ui.strict_json import StrictJson

    service = service or AisleService(settings, pipeline=pipeline, collection=collection)
    app = FastAPI(title="aisle", version=__version__, description=DESCRIPTION)
    # middleware added last runs first: GradioSurface, then BodyLimit, then StrictJson (which reads a capped body)
    app.add_middleware(StrictJson, json_only=("/api/chat", "/api/events"))
    app.add_middleware(
        BodyLimit,
        max_bytes=MAX_JSON_BYTES,
        upload_bytes=MAX_UPLOAD_BYTES + 64 * 1024,  # the photo plus the form's other fields
        upload_paths=("/api/search",),
    )
    app.add_middleware(GradioSurface, api=service.settings.ui_api)
    app.include_router(build_router(service))
    app.state.service = service

    @app.get("/products/{product_id}", include_in_schema=False, response_class=HTMLResponse)
    def product_page(product_id: str) -> str:
        found = service.product(product_id[:200])
        if found is None:
            raise HTTPException(404, f"no product {product_id!r}")
        return render.product_page(found)

    if ui:
        from aisle.ui.search_tab import CLICK_JS

        private_upload_dir()  # before any component is built: each copies the folder name
        blocks = build_blocks(service)
        mount_ui(app, blocks, blocked=[service.settings.home], api=service.settings.ui_api, css=render.CSS,
                 js=CLICK_JS, max_file_size=f"{MAX_UPLOAD_BYTES // (1024 * 1024)}mb")  # fmt: skip
    return app
