"""Image inputs for encoders: a path or a PIL image in, an RGB PIL image out, or a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aisle.encoders.base import EncoderError, ImageInput


def load_rgb(image: ImageInput) -> Any:
    """An RGB PIL image; a file that is missing or not an image raises EncoderError naming it."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    path = Path(image)
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except FileNotFoundError:
        raise EncoderError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise EncoderError(f"cannot read image {path}: {exc}") from None
