"""`brag auth`: signing in to sources that need a browser (OAuth)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harvester.cli.common import console, read_config, user_errors
from harvester.errors import ConfigError

if TYPE_CHECKING:
    pass


def auth_google(
    client_secrets: Annotated[
        Path | None,
        typer.Option(
            "--client-secrets", help="OAuth client JSON (default: client_secrets_file of the google_calendar section)"
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="local port for Google's redirect (0: any free port)")] = 0,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="open the browser automatically")] = True,
) -> None:
    """Sign in with Google (read-only calendar access) and save the token for harvesting."""
    from connectors.google_calendar.auth import authorize
    from connectors.google_calendar.settings import GoogleCalendarSettings

    with user_errors():
        section = read_config(missing_ok=True).settings.source("google_calendar") or GoogleCalendarSettings()
        secrets = client_secrets or section.client_secrets_file
        if secrets is None:
            raise ConfigError(
                "client_secrets_file is required for `brag auth google` (or pass --client-secrets PATH)",
                key="google_calendar",
            )
        token_file = section.resolved_token_file()
        authorize(secrets, token_file, port=port, open_browser=browser)
    console.print(f"Authorized: read-only calendar access; token saved to {escape(str(token_file))} (owner-only)")
