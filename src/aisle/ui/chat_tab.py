"""The Chat tab: the assistant's reply streams in; the products its tools returned appear as cards."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from aisle.ui import render
from aisle.ui.auth import AuthError
from aisle.ui.service import AisleService, FeatureUnavailable
from aisle.ui.shopper_box import ui_shopper

log = logging.getLogger(__name__)


def _grounding(reply: Any) -> str:
    tools = ", ".join(sorted({str(c.get("name", c.get("tool", "?"))) for c in reply.tool_calls})) or "none"
    state = "every claim checked against the tool results" if reply.grounded else "not grounded: treat with care"
    cited = getattr(reply, "citations", None) or []
    sources = f"; quoted from: {html.escape(', '.join(cited))}" if cited else ""
    grounded = str(bool(reply.grounded)).lower()
    return f'<div id="chat-grounded" data-grounded="{grounded}">{state} (tools: {tools}{sources})</div>'


def build_chat_tab(service: AisleService, shopper: gr.Dropdown) -> None:
    chatbot = gr.Chatbot(label="Assistant", elem_id="chatbot", height=420)
    with gr.Row():
        message = gr.Textbox(
            placeholder="Ask about products, orders or returns", scale=5, show_label=False, elem_id="chat-input"
        )
        send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
    status = gr.HTML("", elem_id="chat-status")
    cards = gr.HTML("", elem_id="chat-products")
    session = gr.State(None)

    def respond(
        text: str, history: list[dict[str, Any]] | None, who: str, session_id: str | None, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        history = list(history or [])
        if not (text or "").strip():
            yield "", history, "", "", session_id
            return
        history += [{"role": "user", "content": text}, {"role": "assistant", "content": ""}]
        yield "", history, "", "", session_id
        try:
            stream = service.assistant.stream(text, session_id=session_id, user=ui_shopper(service, who, request))
            for part in stream:
                if isinstance(part, str):
                    history[-1] = {"role": "assistant", "content": history[-1]["content"] + part}
                    yield "", history, "", "", session_id
                else:
                    history[-1] = {"role": "assistant", "content": part.reply}
                    listed = [p for p in part.products if isinstance(p, dict) and p.get("id")]
                    stored = {q["id"]: q for q in service.products([str(p["id"]) for p in listed])}
                    products = [stored.get(str(p["id"]), p) for p in listed]
                    yield "", history, _grounding(part), render.cards_html(products), part.session_id
        except (FeatureUnavailable, AuthError) as exc:
            history[-1] = {"role": "assistant", "content": f"Sorry: {exc}."}
            yield "", history, "", "", session_id
        except Exception as exc:  # keep the page alive and say what failed
            log.exception("chat failed")
            history[-1] = {"role": "assistant", "content": f"Sorry, the assistant failed: {exc}"}
            yield "", history, "", "", session_id

    outputs = [message, chatbot, status, cards, session]
    message.submit(respond, [message, chatbot, shopper, session], outputs)
    send.click(respond, [message, chatbot, shopper, session], outputs)
    # a session is its shopper's: picking another one starts a new conversation
    shopper.input(lambda: ([], None, "", ""), None, [chatbot, session, status, cards])
