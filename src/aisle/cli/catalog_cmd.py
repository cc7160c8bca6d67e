"""`aisle catalog check` and `aisle ingest`: load, validate, report, keep the clean catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from aisle.catalog.validate import CatalogLoad
    from aisle.config import Settings

catalog_app = typer.Typer(help="Catalogue tools: load, validate and report.", no_args_is_help=True)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="myntra:DIR, crowdflower:FILE, wands:DIR, esci:DIR, online_retail:FILE, or a "
        ".csv/.tsv/.jsonl/.parquet file"
    ),
]
ImagesOpt = Annotated[Path | None, typer.Option("--images", help="Folder that relative image paths refer to.")]
ImageRootOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--image-root", help="Another folder that image paths may point into (repeatable); others are quarantined."
    ),
]
MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help="FIELD=COLUMN for generic files, e.g. --map title=name (repeatable).")
]


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in items or []:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise typer.BadParameter(f"expected FIELD=COLUMN, got {item!r}", param_hint="--map")
        mapping[field.strip()] = column.strip()
    return mapping


def _load(source: str, images: Path | None, mapping: list[str] | None, settings: Settings) -> CatalogLoad:
    from aisle.catalog import load_catalog

    return load_catalog(source, images=images, mapping=parse_mapping(mapping), settings=settings)


def _with_image_roots(settings: Settings, roots: list[Path] | None) -> Settings:
    if not roots:
        return settings
    return settings.model_copy(update={"image_roots": [*settings.image_roots, *roots]})


def _print_summary(load: CatalogLoad, written_to: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    report = load.report
    console = Console()
    table = Table(title=f"catalogue {load.name!r} ({report.kind})", show_header=False)
    for label, value in (
        ("rows", report.total_rows),
        ("valid", report.valid_rows),
        ("quarantined", report.quarantined_rows),
        ("with a verified image", report.with_verified_image),
        ("checked in", f"{report.elapsed_s:.2f} s"),
    ):
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    for title, counts in (
        ("quarantined", report.quarantine_reasons),
        ("repaired (kept)", report.repairs),
        ("warnings (kept)", report.warnings),
    ):
        if counts:
            console.print(f"{title}: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    for name, section in report.extra.items():
        console.print(f"{name}: {json.dumps(section)}")
    console.print(f"report: {written_to / 'quality_report.json'}  quarantine: {written_to / 'quarantine.jsonl'}")


@catalog_app.command("check")
def check(
    source: SourceArg,
    images: ImagesOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the report [AISLE_HOME/reports/quality/NAME].")
    ] = None,
    mapping: MapOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    image_roots: ImageRootOpt = None,
) -> None:
    """Load and validate SOURCE; write quality_report.json and quarantine.jsonl. Stores nothing else."""
    from aisle.catalog.quality import write_report
    from aisle.config import get_settings

    settings = _with_image_roots(get_settings(), image_roots)
    load = _load(source, images, mapping, settings)
    out = out or settings.reports_dir / "quality" / load.name
    write_report(load.report, load.quarantine, out)
    if as_json:
        typer.echo(json.dumps(load.report.to_json(), ensure_ascii=False))
    else:
        _print_summary(load, out)


def ingest(
    source: SourceArg,
    images: ImagesOpt = None,
    collection: Annotated[str | None, typer.Option("--collection", help="Collection [AISLE_COLLECTION].")] = None,
    mapping: MapOpt = None,
    clip: Annotated[
        str | None, typer.Option("--clip", help="open_clip spec for image vectors [AISLE_CLIP_MODEL].")
    ] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Delete products no longer in the source.")] = False,
    index: Annotated[bool, typer.Option("--index/--no-index", help="Embed and index into Qdrant.")] = True,
    image_roots: ImageRootOpt = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the collection and index everything again (a new engine).")
    ] = False,
) -> None:
    """Load, validate, index the clean catalogue into Qdrant and store it (exit 1 only if nothing is valid).

    Re-running is idempotent: unchanged products are skipped, so a killed ingest resumes where it stopped.
    The stored catalogue is replaced only after the index took it, so a failed ingest leaves it as it was."""
    from aisle.catalog.quality import write_report
    from aisle.catalog.store import save_catalog
    from aisle.config import get_settings

    settings = _with_image_roots(get_settings(), image_roots)
    if clip:
        settings = settings.model_copy(update={"clip_model": clip})
    name = collection or settings.collection
    load = _load(source, images, mapping, settings)
    if not load.products:
        out = write_report(load.report, load.quarantine, settings.reports_dir / "quality" / name)
        _print_summary(load, out)
        typer.secho("error: nothing could be ingested: every row was quarantined", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    summary = None
    if index:
        from aisle.pipeline.ingest import ingest_products

        summary = ingest_products(load.products, name, settings=settings, prune=prune, rebuild=rebuild)
    folder = save_catalog(load, settings.catalogs_dir / name)
    _print_summary(load, folder)
    if summary is not None:
        typer.echo(
            f"indexed {name!r}: {summary.embedded:,} embedded, {summary.unchanged:,} unchanged, "
            f"{summary.deleted:,} deleted, {summary.images_embedded:,} images, {summary.points:,} points "
            f"in {summary.elapsed_s:.1f} s"
        )
