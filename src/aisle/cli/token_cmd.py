"""`aisle token issue` (a signed shopper token, for operators and the demo) and the check that the CLI's
`--user` is backed by a token for that user (`--token` or AISLE_TOKEN)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from aisle.config import Settings

token_app = typer.Typer(help="Signed shopper tokens (JWT).", no_args_is_help=True)
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="AISLE_TOKEN", help="A signed token for --user (`aisle token issue`) [AISLE_TOKEN]."
    ),
]


@token_app.command("issue")
def issue(
    user: Annotated[str, typer.Option("--user", help="The shopper id: the token's subject.")],
    ttl: Annotated[int, typer.Option("--ttl", help="Seconds until it expires.", min=1, max=30 * 24 * 3600)] = 3600,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Extra rights, e.g. events:import (repeatable).")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Sign with the demo's own key (demo shoppers).")] = False,
    private_key: Annotated[
        Path | None, typer.Option("--private-key", help="PEM private key: RS256 (RSA) or ES256 (EC).")
    ] = None,
) -> None:
    """Print a signed token for USER, signed with AISLE_AUTH_SECRET (HS256), a private key, or the demo key."""
    from aisle.config import get_settings
    from aisle.ui.auth import demo_key, issue_token

    settings = get_settings()
    secret = demo_key(settings) if demo else None
    key = private_key.read_bytes() if private_key is not None else None
    typer.echo(issue_token(settings, user, ttl_s=ttl, scopes=tuple(scope or ()), secret=secret, private_key=key))


def verified_user(settings: Settings, user: str | None, token: str | None, what: str) -> str | None:
    """The shopper the CLI may act for: the subject of `token`, checked like the server checks it (the demo's
    key counts when this AISLE_HOME has one); `user` without a token for that user is refused."""
    from aisle.cli.errors import UserError
    from aisle.ui.auth import DEMO_KEY_FILE, AuthError, TokenVerifier, acting_user, demo_key

    if user is None and not token:
        return None
    has_demo_key = (settings.home / DEMO_KEY_FILE).exists()
    verifier = TokenVerifier.from_settings(settings, demo_key=demo_key(settings) if has_demo_key else None)
    try:
        identity = verifier.verify(token) if token else None
        return acting_user(identity, user, what)
    except AuthError as exc:
        hint = "" if token else f" (`aisle token issue --user {user}` makes one)"
        raise UserError(f"{exc.detail}{hint}") from None
