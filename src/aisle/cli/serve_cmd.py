"""`aisle serve` (the REST API and the Gradio UI on one port) and `aisle demo` (prepare the Myntra demo, then
serve it)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from aisle.config import Settings

HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")]
PortOpt = Annotated[int, typer.Option("--port", help="Port for the UI and the REST API.", min=1, max=65535)]


def _check_port(host: str, port: int) -> None:
    """Fail with a clear message before loading any model when the port is taken."""
    from aisle.cli.errors import UserError

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is in use; choose another with --port") from None
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def check_secrets(settings: Settings) -> None:
    """Refuse to serve when a key under AISLE_HOME/keys is readable by other users of the machine."""
    from aisle.cli.errors import UserError
    from aisle.files import InsecureFileError, check_private

    folder = settings.home / "keys"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            check_private(path)
        except InsecureFileError as exc:
            raise UserError(f"refusing to serve: {exc}") from None


def run_server(
    settings: Settings,
    collection: str | None,
    host: str,
    port: int,
    *,
    warm: bool = True,
    pipeline: Any = None,
    demo: bool = False,
) -> None:
    """Serve the app. `demo`: sign the demo's shoppers in with the demo's own key (demo identities)."""
    import uvicorn

    from aisle.ui.app import create_app
    from aisle.ui.auth import TokenVerifier, demo_key
    from aisle.ui.service import AisleService

    _check_port(host, port)
    check_secrets(settings)
    verifier = TokenVerifier.from_settings(settings, demo_key=demo_key(settings) if demo else None)
    service = AisleService(settings, collection=collection, pipeline=pipeline, verifier=verifier, demo=demo)
    if warm:
        typer.echo("loading models ...")
        service.warm_up()
    app = create_app(service=service)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(
        f"aisle is serving {service.count():,} products from {service.collection!r} at http://{shown}:{port}/ "
        f"(REST API: http://{shown}:{port}/docs). Ctrl+C stops it."
    )
    if demo:
        typer.echo("demo identities: the demo's shoppers can be picked in the UI without signing in")
    elif not verifier.configured:
        typer.echo("no token key configured (AISLE_AUTH_SECRET, AISLE_AUTH_PUBLIC_KEY or AISLE_AUTH_JWKS): "
                   "shopper actions (orders, events, personal ranking) are refused")  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 7860,
    collection: Annotated[str | None, typer.Option("--collection", help="Collection [AISLE_COLLECTION].")] = None,
    warm: Annotated[bool, typer.Option("--warm/--no-warm", help="Load the models before taking requests.")] = True,
) -> None:
    """Serve the Gradio UI (Search, Chat, Insights) and the REST API (/api/..., /docs) on one port."""
    from aisle.config import get_settings

    run_server(get_settings(), collection, host, port, warm=warm)


def demo(
    data: Annotated[
        Path | None, typer.Option("--data", help="Myntra folder (styles.csv, images/) [AISLE_DEMO_DATA].")
    ] = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 7860,
    collection: Annotated[str, typer.Option("--collection", help="Collection for the demo catalogue.")] = "demo",
    clip: Annotated[
        str | None, typer.Option("--clip", help="Use this CLIP spec instead of the catalogue's own.")
    ] = None,
    train_clip: Annotated[
        bool, typer.Option("--train-clip/--no-clip", help="Train (once) or load the catalogue's own CLIP.")
    ] = True,
    epochs: Annotated[int | None, typer.Option("--epochs", help="CLIP training epochs (first run only).")] = None,
    serve_it: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve once it is ready.")] = True,
) -> None:
    """Prepare the Myntra demo (data, catalogue CLIP, index, demo shoppers and orders) and serve it.

    The data comes from --data, AISLE_DEMO_DATA, ../shared/data/myntra, or a download from its public source.
    Re-running is quick: nothing unchanged is embedded or trained again."""
    from aisle.cli.errors import UserError
    from aisle.config import get_settings
    from aisle.ui.demo import DemoError, prepare_demo

    settings = get_settings()
    if serve_it:
        _check_port(host, port)
    try:
        report, settings = prepare_demo(
            settings, data=data, collection=collection, clip=clip, train_clip=train_clip, epochs=epochs
        )
    except DemoError as exc:
        raise UserError(str(exc)) from None
    typer.echo(f"demo catalogue: {report.products:,} Myntra products with photos from {report.data}")
    typer.echo(f"CLIP: {report.clip_model or 'none (photo search off)'}")
    for note in report.notes:
        typer.echo(f"- {note}")
    if serve_it:
        run_server(settings, report.collection, host, port, pipeline=report.pipeline, demo=True)
    else:
        typer.echo(f"ready: `aisle serve --collection {report.collection}` serves it")
