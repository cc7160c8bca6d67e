"""Entry point: the Typer app, its sub-commands, and one place that turns errors into clear messages."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from aisle import __version__
from aisle.cli import (
    catalog_cmd,
    chat_cmd,  # also registers `aisle eval assistant`
    eval_cmd,
    export_cmd,
    personal_cmd,  # also registers `aisle eval personal`
    search_cmd,
    serve_cmd,
    token_cmd,
    train_clip_cmd,
    train_ranker_cmd,
)
from aisle.cli.errors import UserError

app = typer.Typer(
    name="aisle",
    help="aisle: multimodal product search engine and shopping assistant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(catalog_cmd.catalog_app, name="catalog")
app.add_typer(eval_cmd.eval_app, name="eval")
app.command("ingest")(catalog_cmd.ingest)
app.command("export-onnx")(export_cmd.export_onnx)
app.command("search")(search_cmd.search)
app.command("train-clip")(train_clip_cmd.train_clip)
app.command("train-ranker")(train_ranker_cmd.train_ranker)
app.command("serve")(serve_cmd.serve)
app.command("demo")(serve_cmd.demo)
app.command("train-personal")(personal_cmd.train_personal)
app.add_typer(personal_cmd.events_app, name="events")
app.command("chat")(chat_cmd.chat)
app.add_typer(token_cmd.token_app, name="token")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aisle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run() -> None:
    """Console-script entry: no tracebacks for expected failures (AISLE_DEBUG=1 shows them)."""
    from aisle.catalog.raw import SourceError
    from aisle.encoders.base import EncoderError
    from aisle.index.collection import CollectionError
    from aisle.index.engine import EngineError
    from aisle.index.owner import IndexBusy

    expected = (SourceError, UserError, EncoderError, CollectionError, EngineError, IndexBusy, FileNotFoundError)

    try:
        app()
    except (*expected, ValueError) as exc:
        if os.environ.get("AISLE_DEBUG"):
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)


if __name__ == "__main__":
    run()
