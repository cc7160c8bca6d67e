"""Who the UI acts for. A signed-in shopper comes with a token (the shop's login sets an `aisle_token` cookie or
an `Authorization` header); the demo adds a list of demo identities that anyone may pick, and says so."""

from __future__ import annotations

from typing import Any

import gradio as gr

from aisle.ui.service import ANONYMOUS, AisleService

TOKEN_COOKIE = "aisle_token"
DEMO_LABEL = "Demo shopper: demo identities that anyone may pick, to try personal ranking and orders"


def build_shopper_box(service: AisleService) -> Any:
    """The shopper picker shared by the tabs: visible in the demo only (elsewhere the request's token decides)."""
    if not service.demo:
        gr.Markdown(
            "Signed-in shoppers get personal ranking and their orders: the shop's login passes a signed token "
            f"(`Authorization: Bearer` header or `{TOKEN_COOKIE}` cookie).",
            elem_id="signin-note",
        )
    return gr.Dropdown(
        [ANONYMOUS, *service.shoppers()],
        value=ANONYMOUS,
        label=DEMO_LABEL,
        allow_custom_value=False,
        visible=service.demo,
        elem_id="shopper",
    )


def ui_shopper(service: AisleService, choice: str | None, request: gr.Request | None) -> str | None:
    """The shopper a UI event acts for (see `AisleService.ui_shopper`); AuthError when that is not allowed."""
    headers = getattr(request, "headers", None) or {}
    cookies = getattr(request, "cookies", None) or {}
    return service.ui_shopper(choice, headers.get("authorization"), cookies.get(TOKEN_COOKIE))
