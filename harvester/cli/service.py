"""The long-running side: `brag serve`, `brag run`, `brag schedule`, `brag health`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harvester.cli.common import console, err_console, open_context, read_config, user_errors
from harvester.errors import BragError

if TYPE_CHECKING:
    pass


def serve(
    host: Annotated[str, typer.Option(help="address to listen on; the page has no login, so keep it local")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int | None, typer.Option(help="port to listen on (default: the one in [web] base_url, else 8765)")
    ] = None,
) -> None:
    """Serve the review page, where the digest's links lead."""
    from urllib.parse import urlsplit

    from harvester.web import serve as serve_web
    from harvester.web.server import DEFAULT_PORT

    with user_errors():
        context = open_context()
        context.finish_clustering()
        # the emailed links carry base_url's port; listening anywhere else would break them
        port = port or urlsplit(context.config.settings.web.base_url).port or DEFAULT_PORT
        try:
            serve_web(context, console, host, port)
        except OSError as exc:
            raise BragError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def run() -> None:
    """The long-running service: harvest, digest and quarterly summary at the [schedule] times."""
    from harvester.scheduler import serve

    # a service logs what it does; --verbose adds debug detail
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    with user_errors():
        serve(read_config())


def schedule() -> None:
    """The scheduled jobs, when each runs next (in your timezone) and how its last run ended."""
    from rich.table import Table

    from harvester.scheduler import clock, schedule_rows

    with user_errors():
        context = open_context()
        rows, disabled = schedule_rows(context, clock())
    table = Table(title=f"Schedule ({context.zone})", title_justify="left")
    for column in ("job", "cron", "next run", "last run"):
        table.add_column(column)
    for row in rows:
        upcoming = f"{row.next_run.astimezone(context.zone):%a %Y-%m-%d %H:%M}" if row.next_run else "never"
        if row.overdue:
            upcoming = f"overdue: runs when `brag run` starts; then {upcoming}"
        table.add_row(row.job, row.cron, upcoming, escape(row.last_run))
    for job, reason in disabled.items():
        table.add_row(job, "off", escape(reason), "")
    console.print(table)


def health() -> None:
    """Exit 0 if the configuration loads and the database answers, 1 otherwise (container healthchecks)."""
    from sqlalchemy import text

    from harvester.config import NotConfiguredError

    try:
        context = open_context()
        with context.sessions() as session:
            session.execute(text("SELECT 1"))
    except NotConfiguredError as exc:
        # 1, not 2: Docker reserves a healthcheck's exit code 2
        err_console.print(f"not configured: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        err_console.print(f"unhealthy: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print("ok")
