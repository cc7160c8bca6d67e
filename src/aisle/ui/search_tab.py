"""The Search tab: query box, photo upload, facet filters, recognised-attribute chips, shopper, results."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr

from aisle.pipeline.request import QueryError, SearchRequest
from aisle.ui import render
from aisle.ui.auth import AuthError
from aisle.ui.chips import chips, drop_attributes
from aisle.ui.limits import PhotoRefused, check_photo
from aisle.ui.photo_input import photo_input
from aisle.ui.service import AisleService, FeatureUnavailable
from aisle.ui.shopper_box import ui_shopper

log = logging.getLogger(__name__)
TOP_K = 24
# opening a result (its photo or title link) tells the server: the product id goes into the hidden #clicked box
# and the hidden #clicked-send button sends it (a synthetic input event on the box alone starts no Gradio event)
CLICK_JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("#results .aisle-card a");
    const box = document.querySelector("#clicked textarea, #clicked input");
    if (!link || !box) return;
    box.value = link.closest(".aisle-card").dataset.productId + "|" + Date.now();
    box.dispatchEvent(new Event("input", {bubbles: true}));
    setTimeout(() => document.querySelector("#clicked-send").click(), 0);
  }, true);
}
"""
_FIELD_ORDER = ("gender", "article_type", "colour", "master_category", "sub_category", "usage", "season", "brand")


def _facet_fields(facets: dict[str, list[tuple[str, int]]]) -> list[str]:
    known = [f for f in _FIELD_ORDER if f in facets]
    return known + sorted(f for f in facets if f not in known)


def build_search_tab(service: AisleService, shopper: gr.Dropdown) -> None:
    facets = service.facets()
    fields = _facet_fields(facets)
    with gr.Row():
        query = gr.Textbox(
            label="Search", placeholder="e.g. navy blue shirts for men", scale=5, elem_id="query", max_length=1000
        )
        button = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
    with gr.Row():
        with gr.Column(scale=1, min_width=240):
            # image_mode=None: Gradio hands over the uploaded file without decoding it; check_photo reads its header
            photo = photo_input(
                label="Search by photo",
                type="filepath",
                image_mode=None,
                sources=["upload"],
                elem_id="photo",
                height=180,
            )
            mode = gr.Radio(["hybrid", "bm25", "dense", "image"], value="hybrid", label="Retrieval", elem_id="mode")
            personalise = gr.Checkbox(
                value=True,
                label="Personalise with my history (signed-in or demo shopper)",
                elem_id="personalise",
            )
            filters = [
                gr.Dropdown(
                    [value for value, _ in facets[field]],
                    multiselect=True,
                    label=field.replace("_", " "),
                    elem_id=f"filter-{field}",
                )
                for field in fields
            ]
        with gr.Column(scale=4):
            recognised = gr.CheckboxGroup(
                [], label="Recognised in your query (untick to remove)", elem_id="chips", visible=False
            )
            results = gr.HTML(render.error_html("Type a query or upload a photo."), elem_id="results")
            click_note = gr.Markdown("", elem_id="click-note")
    # the page's script (CLICK_JS) writes "<product id>|<time>" here when a result is opened
    clicked = gr.Textbox("", elem_id="clicked", elem_classes=["aisle-hidden"], container=False, show_label=False)
    send_click = gr.Button("", elem_id="clicked-send", elem_classes=["aisle-hidden"])
    understood_state = gr.State({})

    def run(
        request: gr.Request,
        text: str,
        image: str | None,
        who: str,
        how: str,
        personal: bool,
        *chosen: list[str] | None,
    ) -> tuple[Any, ...]:
        # gr.Request first: Gradio injects it only among the positional parameters, never after *chosen
        selected = {field: list(values) for field, values in zip(fields, chosen, strict=True) if values}
        try:
            user = ui_shopper(service, who, request)
            photo_bytes = check_photo(Path(image).read_bytes()) if image else None
        except (PhotoRefused, AuthError) as exc:
            return render.error_html(str(exc)), gr.CheckboxGroup(choices=[], value=[], visible=False), {}
        search_request = SearchRequest(
            query=text or "",
            image=photo_bytes,
            user=user,
            filters=selected,
            top_k=TOP_K,
            mode=how,  # type: ignore[arg-type]
            explain=True,
            personalize=bool(personal),
        )
        try:
            response = service.search(search_request)
        except QueryError as exc:
            return render.error_html(str(exc)), gr.CheckboxGroup(choices=[], value=[], visible=False), {}
        understood = response.get("understood") or {}
        labels = list(chips(understood))
        chip_box = gr.CheckboxGroup(choices=labels, value=labels, visible=bool(labels))
        return render.gallery_html(response), chip_box, understood

    def remove_chips(text: str, ticked: list[str], understood: dict[str, Any]) -> str:
        unticked = [field for label, field in chips(understood).items() if label not in (ticked or [])]
        return drop_attributes(service.pipeline.understanding, text or "", unticked) if unticked else text

    def note_click(request: gr.Request, value: str, text: str, who: str) -> str:
        """The shopper opened a result: a click event, read by their next search (nothing for anonymous)."""
        product_id = (value or "").rsplit("|", 1)[0]
        try:
            user = ui_shopper(service, who, request)
        except AuthError:
            return ""
        if not user or not product_id:
            return ""
        try:
            stored = service.record_click(user, product_id, text or None)
        except FeatureUnavailable as exc:
            return render.esc(str(exc))
        return f"Noted: you opened {render.esc(product_id)}; what you open shapes your next search." if stored else ""

    inputs = [query, photo, shopper, mode, personalise, *filters]
    outputs = [results, recognised, understood_state]
    query.submit(run, inputs, outputs)
    button.click(run, inputs, outputs)
    for trigger in (
        photo.upload,
        photo.clear,
        shopper.input,
        mode.input,
        personalise.input,
        *(f.input for f in filters),
    ):
        trigger(run, inputs, outputs)
    send_click.click(note_click, [clicked, query, shopper], [click_note])
    recognised.input(remove_chips, [query, recognised, understood_state], [query]).then(run, inputs, outputs)
