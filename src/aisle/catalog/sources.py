"""SOURCE specs from the CLI (`myntra:DIR`, `crowdflower:FILE`, `wands:DIR`, `esci:DIR`,
`online_retail:FILE`, or a `.csv/.tsv/.jsonl/.parquet` file) turned into loaded rows."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aisle.catalog.raw import SourceError, SourceRows

KINDS = ("myntra", "crowdflower", "wands", "esci", "online_retail")


def parse_source(spec: str) -> tuple[str, Path]:
    """('kind', path) for a SOURCE spec; a bare file path gets the kind 'file'."""
    kind, sep, rest = spec.partition(":")
    if sep and kind in KINDS:
        if not rest:
            raise SourceError(f"{kind}: needs a path, e.g. {kind}:../shared/data/{kind}")
        return kind, Path(rest).expanduser()
    from aisle.catalog.loaders.generic import SUFFIXES

    path = Path(spec).expanduser()
    if path.suffix.lower() in SUFFIXES:
        return "file", path
    raise SourceError(
        f"unknown source {spec!r}: use {', '.join(k + ':PATH' for k in KINDS)} or a file ending in "
        + ", ".join(SUFFIXES)
    )


def load_source(spec: str, images: Path | None = None, mapping: Mapping[str, str] | None = None) -> SourceRows:
    kind, path = parse_source(spec)
    if kind == "myntra":
        from aisle.catalog.loaders.myntra import load_myntra

        return load_myntra(path, images)
    if kind == "crowdflower":
        from aisle.catalog.loaders.crowdflower import load_crowdflower

        return load_crowdflower(path)
    if kind == "wands":
        from aisle.catalog.loaders.wands import load_wands

        return load_wands(path)
    if kind == "esci":
        from aisle.catalog.loaders.esci import load_esci

        return load_esci(path)
    if kind == "online_retail":
        from aisle.catalog.loaders.online_retail import load_online_retail

        return load_online_retail(path)
    from aisle.catalog.loaders.generic import load_generic

    return load_generic(path, mapping, images)
