"""`brag demo`: the whole product against local sandbox servers."""

from __future__ import annotations

from typing import Annotated

import typer

from harvester.cli.common import console, user_errors


def demo(
    serve: Annotated[
        bool, typer.Option("--serve", help="afterwards, keep the review page running on the demo database")
    ] = False,
    team: Annotated[
        bool,
        typer.Option(
            "--team",
            help="the team service instead: two people sign in, connect their accounts and get their own digests "
            "(needs PostgreSQL: --postgres)",
        ),
    ] = False,
    postgres: Annotated[
        str | None,
        typer.Option(
            "--postgres",
            envvar="BRAG_DEMO_POSTGRES_URL",
            help="with --team: a PostgreSQL URL, e.g. postgresql+psycopg://postgres:PASSWORD@127.0.0.1/postgres; "
            "the demo makes its own database brag_team_demo there",
        ),
    ] = None,
) -> None:
    """Run the whole product against local sandbox servers, offline; keeps its data and a config for it."""
    with user_errors():
        if team:
            from harvester.cli.demo_team import run_team_demo

            if not postgres:
                console.print(
                    "[red]error:[/] brag demo --team runs on PostgreSQL (team mode runs on nothing else): pass "
                    "--postgres postgresql+psycopg://USER:PASSWORD@HOST/postgres or set BRAG_DEMO_POSTGRES_URL",
                    highlight=False,
                )
                raise typer.Exit(2)
            code = run_team_demo(console, postgres, serve=serve)
        else:
            from harvester.cli.demo_run import run_demo

            code = run_demo(console, serve=serve)
    raise typer.Exit(code)
