"""`aisle chat` (interactive, or one `--message` with `--json`) and `aisle eval assistant` (the scenario suite)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from aisle.cli import eval_cmd
from aisle.cli.token_cmd import TokenOpt, verified_user

EXIT_WORDS = {"exit", "quit", "bye!", ":q"}


def _assistant(collection: str | None) -> Any:
    from aisle.assistant.service import Assistant
    from aisle.config import get_settings

    settings = get_settings()
    if collection:
        settings = settings.model_copy(update={"collection": collection})
    return Assistant.open(settings)


def chat(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="One message; without it, an interactive chat.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"reply", "products", "tool_calls", "grounded", ...}.')
    ] = False,
    session: Annotated[
        str | None, typer.Option("--session", help="Continue this session (its id is in the JSON).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="The signed-in customer (sees their own orders; needs --token).")
    ] = None,
    token: TokenOpt = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="Product collection [AISLE_COLLECTION].")
    ] = None,
) -> None:
    """The shopping and customer-service assistant: products, orders, returns and shop policies."""
    from aisle.assistant.llm import LLMError
    from aisle.assistant.service import ChatReply, validate_message
    from aisle.config import get_settings

    if message is not None:
        validate_message(message)  # a bad message fails before any model loads
    user = verified_user(get_settings(), user, token, "a customer's chat")
    assistant = _assistant(collection)
    if message is not None:
        try:
            reply = assistant.reply(message, session_id=session, user=user)
        except LLMError as exc:
            raise ValueError(str(exc)) from None
        if as_json:
            typer.echo(json.dumps(reply.to_json(), ensure_ascii=False, default=str))
        else:
            typer.echo(reply.reply)
        return
    typer.echo("aisle assistant - ask about products, orders, returns or policies ('exit' to leave).")
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not text:
            continue
        if text.lower() in EXIT_WORDS:
            return
        typer.echo("aisle> ", nl=False)
        try:
            final: ChatReply | None = None
            for item in assistant.stream(text, session_id=session, user=user):
                if isinstance(item, ChatReply):
                    final = item
                else:
                    typer.echo(item, nl=False)
        except (ValueError, LLMError) as exc:
            typer.secho(f"\nerror: {exc}", fg=typer.colors.RED)
            continue
        typer.echo("")
        if final is not None:
            session = final.session_id
            if final.guard.get("fallback"):
                typer.secho("(draft replaced by the grounded answer:)\n" + final.reply, fg=typer.colors.YELLOW)


def eval_assistant(
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection",
            help="Product collection to chat over (default: "
            "the packaged evaluation catalogue, ingested into 'assistant-eval').",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write report.json / report.md here.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N scenarios.")] = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="Grounded templates only (scores routing, not the LLM).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-turn lines.")] = False,
) -> None:
    """Run the assistant's scenario conversations: tool choice, slots, groundedness, refusals, leaks, injections."""
    from rich.console import Console
    from rich.table import Table

    from aisle.assistant.evalset import ingest_eval_catalogue, load_scenarios
    from aisle.assistant.evaluate import run_scenarios, write_report
    from aisle.assistant.memory import SessionStore
    from aisle.assistant.service import Assistant
    from aisle.config import get_settings
    from aisle.pipeline.search import SearchPipeline

    settings = get_settings()
    name = collection or ingest_eval_catalogue(settings)
    pipeline = SearchPipeline.open(name, settings)
    product_ids = _first_ids(pipeline, 8)
    scenarios = load_scenarios()[:limit]
    with tempfile.TemporaryDirectory(prefix="aisle-assistant-eval-") as tmp:
        sessions = SessionStore(Path(tmp) / "sessions.sqlite")
        components: dict[str, Any] = {"sessions": sessions}
        if no_llm:
            components["llm"] = None
        base = Assistant.open(settings, pipeline=pipeline, **components)
        if not quiet:
            typer.echo("loading models ...")
        base.warm_up()

        def factory(store: Any) -> Any:
            base.orders = store
            return base

        report = run_scenarios(factory, scenarios, Path(tmp), product_ids, pipeline, progress=not quiet)
    report["config"] = {
        "collection": name,
        "llm": "none (templates)" if no_llm else (settings.assistant_llm_url or settings.assistant_llm),
        "temperature": settings.assistant_temperature,
        "max_tokens": settings.assistant_max_tokens,
        "guard_retries": settings.assistant_guard_retries,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    folder = write_report(report, settings.reports_dir / "eval" / f"assistant-{time.strftime('%Y%m%d-%H%M%S')}")
    if out is not None:
        write_report(report, out)
    table = Table(title=f"assistant scenarios ({name})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report["metrics"].items():
        table.add_row(key, json.dumps(value))
    console = Console()
    console.print(table)
    console.print(f"report: {folder}" + (f"  (copied to {out})" if out else ""))


def _first_ids(pipeline: Any, n: int) -> list[str]:
    return sorted(pipeline.index.product_ids())[:n]


eval_cmd.eval_app.command("assistant")(eval_assistant)
