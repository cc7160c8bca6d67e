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
from aisle.ui.service import AisleService
from aisle.ui.shopper_box import ui_shopper

log = logging.getLogger(__name__)
TOP_K = 24
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
    understood_state = gr.State({})

    def run(
        request: gr.Request, text: str, image: str | None, who: str, how: str, *chosen: list[str] | None
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

    inputs = [query, photo, shopper, mode, *filters]
    outputs = [results, recognised, understood_state]
    query.submit(run, inputs, outputs)
    button.click(run, inputs, outputs)
    for trigger in (photo.upload, photo.clear, shopper.input, mode.input, *(f.input for f in filters)):
        trigger(run, inputs, outputs)
    recognised.input(remove_chips, [query, recognised, understood_state], [query]).then(run, inputs, outputs)
