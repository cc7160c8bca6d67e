"""`aisle search`: one query, or `--batch FILE.jsonl` of {"qid", "query"} lines with models loaded once."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aisle.cli.token_cmd import TokenOpt, verified_user

if TYPE_CHECKING:
    from aisle.pipeline.search import SearchPipeline


def parse_filters(items: list[str] | None) -> dict[str, Any]:
    """FIELD=VALUE pairs; a field given twice matches either value."""
    filters: dict[str, Any] = {}
    for item in items or []:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise typer.BadParameter(f"expected FIELD=VALUE, got {item!r}", param_hint="--filter")
        field = field.strip()
        if field in filters:
            previous = filters[field]
            filters[field] = [*(previous if isinstance(previous, list) else [previous]), value.strip()]
        else:
            filters[field] = value.strip()
    return filters


def _print_table(response: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{response['query']!r}  {response['understood'] or ''}")
    explained = any(hit.get("personal_reason") for hit in response["results"])
    for column in ("#", "id", "score", "title", *(("why (your history)",) if explained else ())):
        table.add_column(column)
    for rank, hit in enumerate(response["results"], start=1):
        # Text, not str: catalogue text is data, never rich markup ("[red]" in a title is printed as typed)
        reason = (Text(hit.get("personal_reason") or ""),) if explained else ()
        table.add_row(str(rank), Text(hit["id"]), f"{hit['score']:.4f}", Text(str(hit.get("title", ""))), *reason)
    console = Console()
    console.print(table)
    console.print("timings ms: " + ", ".join(f"{k}={v:.1f}" for k, v in response["timings_ms"].items()))


def _run_batch(pipeline: SearchPipeline, batch: Path, base: dict[str, Any]) -> None:
    """One JSON object per input line; a bad line gets an `error` object and the run goes on."""
    from aisle.pipeline.request import QueryError, SearchRequest

    with batch.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            qid: Any = None
            try:
                record = json.loads(line)
                qid = record.get("qid", number)
                response = pipeline.search(SearchRequest(query=str(record.get("query", "")), **base)).to_json()
                out = {"qid": qid, **response}
            except (json.JSONDecodeError, AttributeError):
                out = {"qid": number, "error": f"line {number} is not a JSON object with a query"}
            except QueryError as exc:
                out = {"qid": qid, "error": str(exc)}
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


def search(
    query: Annotated[str, typer.Argument(help="What the shopper typed (may be empty with --image or --batch).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the search contract's JSON.")] = False,
    image: Annotated[Path | None, typer.Option("--image", help="Search by this photo.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Shopper id, for personalised ranking (needs --token).")
    ] = None,
    filters: Annotated[list[str] | None, typer.Option("--filter", help="FIELD=VALUE (repeatable).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="How many results.")] = 10,
    mode: Annotated[str, typer.Option("--mode", help="bm25, dense, image or hybrid.")] = "hybrid",
    no_rerank: Annotated[bool, typer.Option("--no-rerank", help="Skip the re-ranker.")] = False,
    no_personal: Annotated[
        bool, typer.Option("--no-personal", help="The anonymous ranking, even for --user (history off).")
    ] = False,
    fusion: Annotated[str, typer.Option("--fusion", help="rrf or dbsf (hybrid mode).")] = "rrf",
    explain: Annotated[bool, typer.Option("--explain", help="Add each retriever's score per hit.")] = False,
    collection: Annotated[str | None, typer.Option("--collection", help="Collection [AISLE_COLLECTION].")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help='JSONL of {"qid", "query"} lines.')] = None,
    token: TokenOpt = None,
) -> None:
    """Search the catalogue. Prints a table, or with --json the contract's JSON object (one per line with --batch)."""
    from aisle.config import get_settings
    from aisle.pipeline.request import QueryError, SearchRequest
    from aisle.pipeline.search import SearchPipeline

    if image is not None and not image.is_file():
        raise typer.BadParameter(f"no such file: {image}", param_hint="--image")
    if batch is not None and not batch.is_file():
        raise typer.BadParameter(f"no such file: {batch}", param_hint="--batch")
    user = verified_user(get_settings(), user, token, "personalised ranking")
    base: dict[str, Any] = {
        "user": user, "filters": parse_filters(filters), "top_k": top_k, "mode": mode,
        "rerank": not no_rerank, "fusion": fusion, "explain": explain, "personalize": not no_personal,
    }  # fmt: skip
    pipeline = SearchPipeline.open(collection)
    if batch is not None:
        _run_batch(pipeline, batch, base)
        return
    try:
        response = pipeline.search(SearchRequest(query=query, image=image, **base)).to_json()
    except QueryError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(response, ensure_ascii=False))
    else:
        _print_table(response)
