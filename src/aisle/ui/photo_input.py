"""The search tab's photo input: Gradio's Image, refusing a photo it cannot take with aisle's own message.

Gradio reads an uploaded photo's header (PIL.Image.open) before the handler runs; a header claiming more
pixels than PIL allows, or bytes that are not an image, would otherwise end the event with a blank error.
The refusal wraps this one component's `preprocess` rather than subclassing gr.Image: Gradio's component
metaclass writes a .pyi stub beside the module of every subclass, at import time.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from aisle.ui.limits import NOT_AN_IMAGE, TOO_MANY_PIXELS


def photo_input(**options: Any) -> gr.Image:
    """A gr.Image (same options) whose unreadable or oversized uploads end in a message the shopper sees."""
    from PIL import Image

    component = gr.Image(**options)
    preprocess = component.preprocess

    def refusing(payload: Any) -> Any:
        try:
            return preprocess(payload)
        except Image.DecompressionBombError:
            raise gr.Error(TOO_MANY_PIXELS) from None
        except (Image.UnidentifiedImageError, OSError):
            raise gr.Error(NOT_AN_IMAGE) from None

    component.preprocess = refusing  # type: ignore[method-assign]
    return component
