"""Catalogue loading with data-quality control: load a SOURCE, validate it, keep the clean products."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisle.catalog.raw import SourceError
from aisle.config import Settings

if TYPE_CHECKING:
    from aisle.catalog.validate import CatalogLoad

__all__ = ["CatalogLoad", "SourceError", "load_catalog"]


def load_catalog(
    spec: str,
    images: Path | None = None,
    mapping: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> CatalogLoad:
    """Load and validate a SOURCE spec (see `aisle.catalog.sources`). Raises SourceError if unreadable."""
    from aisle.catalog.sources import load_source
    from aisle.catalog.validate import validate_source

    return validate_source(load_source(spec, images, mapping), settings)


def __getattr__(name: str) -> Any:
    """`CatalogLoad` on first use: the validators import the image stack, which `aisle --help` and the light
    modules of this package (`split`, `fields`) must not pay for."""
    if name == "CatalogLoad":
        from aisle.catalog.validate import CatalogLoad

        return CatalogLoad
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
