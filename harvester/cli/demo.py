"""`brag demo`: the whole product against local sandbox servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.common import console, user_errors

if TYPE_CHECKING:
    pass


def demo(
    serve: Annotated[
        bool, typer.Option("--serve", help="afterwards, keep the review page running on the demo database")
    ] = False,
) -> None:
    """Run the whole product against local sandbox servers, offline; keeps its data and a config for it."""
    from harvester.cli.demo_run import run_demo

    with user_errors():
        code = run_demo(console, serve=serve)
    raise typer.Exit(code)
