"""`brag init`: the first run's questions and the configuration file it writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.common import console, state, user_errors

if TYPE_CHECKING:
    pass


def init(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="where to write it (default: --config before init, else the user config dir)"),
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone (default: detected)")] = None,
    github_url: Annotated[str | None, typer.Option(help="GitHub API URL; enables GitHub")] = None,
    github_token_env: Annotated[
        str | None, typer.Option(metavar="NAME", help="read the GitHub token from $NAME; enables GitHub")
    ] = None,
    jira_url: Annotated[str | None, typer.Option(help="your Jira site; enables Jira")] = None,
    jira_email: Annotated[str | None, typer.Option(help="Jira Cloud: your account email")] = None,
    jira_token_env: Annotated[str | None, typer.Option(metavar="NAME", help="Jira Cloud: API token in $NAME")] = None,
    jira_pat_env: Annotated[
        str | None, typer.Option(metavar="NAME", help="Jira Server/Data Center: personal access token in $NAME")
    ] = None,
    google_client_secrets: Annotated[
        str | None, typer.Option(metavar="PATH", help="OAuth client JSON; enables Google Calendar")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the user data dir)")
    ] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="try each source with one request")] = True,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="ask nothing: flags and defaults only (for scripts)")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="replace an existing file")] = False,
) -> None:
    """First run: time zone, sources, tokens (OS keyring or env:), a commented config file, one check per source."""
    from harvester.cli.init_config import InitRequest, run_init

    request = InitRequest(
        timezone=timezone,
        database_url=database_url,
        github_url=github_url,
        github_token_env=github_token_env,
        jira_url=jira_url,
        jira_email=jira_email,
        jira_token_env=jira_token_env,
        jira_pat_env=jira_pat_env,
        google_client_secrets=google_client_secrets,
        check=check,
        yes=yes,
        force=force,
    )
    with user_errors():
        code = run_init(console, request, config or _init_target())
    raise typer.Exit(code)


def _init_target() -> Path | None:
    """The file `brag init` writes when not told: the one other commands would read."""
    from harvester.config import find_config_path

    path, chosen = find_config_path(state.config_path)
    return path if chosen else None
