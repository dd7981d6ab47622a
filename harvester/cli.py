"""The `brag` command line: a thin edge over the app, the sync runner and the pure core."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from harvester.app import App
from harvester.config import load_config
from harvester.errors import BragError, ConfigError
from harvester.store import repository
from harvester.sync import Progress as HarvestProgress
from harvester.sync import SourceResult
from harvester.timeutil import parse_moment

app = typer.Typer(
    name="brag",
    help="Keeps your brag document for you: harvests your work, drafts accomplishments, asks for impact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

EXIT_SOURCE_FAILED = 1
EXIT_CONFIG = 2


class State:
    config_path: Path | None = None


state = State()

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="configuration file (default: $BRAG_CONFIG, then the user config dir)"),
]


@app.callback()
def main_options(
    config: ConfigOption = None, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False
) -> None:
    state.config_path = config
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def open_app() -> App:
    return App.open(load_config(state.config_path))


@contextmanager
def user_errors() -> Iterator[None]:
    """Errors meant for the user end the command with one clear line, not a traceback."""
    try:
        yield
    except ConfigError as exc:
        err_console.print(f"[bold red]configuration error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except BragError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED) from None


def _moment(text: str | None, app_: App, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_moment(text, app_.zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


@app.command()
def harvest(
    source: Annotated[str | None, typer.Option("--source", help="harvest only this source (e.g. github)")] = None,
    since: Annotated[str | None, typer.Option(help="start, inclusive: date or datetime in your timezone")] = None,
    until: Annotated[str | None, typer.Option(help="end, exclusive: date or datetime in your timezone")] = None,
) -> None:
    """Harvest new work from every configured source (or one), continuing from where the last run stopped."""
    with user_errors():
        app_ = open_app()
        start, end = _moment(since, app_, "--since"), _moment(until, app_, "--until")
        connectors = app_.connectors(source)
        if not connectors:
            hint = f"source {source!r} is not configured" if source else "no source is configured"
            raise ConfigError(f"{hint}; add a [github] section (see config/brag.example.toml)", path=app_.config.path)
        results = run_harvest(app_, source, start, end)
    print_summary(results)
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_SOURCE_FAILED)


def run_harvest(app_: App, source: str | None, since: datetime | None, until: datetime | None) -> list[SourceResult]:
    if not err_console.is_terminal:

        def plain(event: HarvestProgress) -> None:
            total = f"/{event.expected}" if event.expected is not None else ""
            err_console.print(f"{event.source}: {event.done}{total} items", highlight=False)

        return app_.harvest(only=source, since=since, until=until, progress=plain)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(event: HarvestProgress) -> None:
            if event.source not in tasks:
                tasks[event.source] = bar.add_task(event.source, total=None)
            bar.update(tasks[event.source], completed=event.done, total=event.expected)

        return app_.harvest(only=source, since=since, until=until, progress=update)


def print_summary(results: list[SourceResult]) -> None:
    table = Table(title="Harvest", title_justify="left")
    for column in ("source", "window", "new", "updated", "unchanged", "result"):
        table.add_column(column, justify="right" if column in ("new", "updated", "unchanged") else "left")
    for result in results:
        window = f"{result.window.start:%Y-%m-%d %H:%M} → {result.window.end:%Y-%m-%d %H:%M}"
        outcome = "[green]ok[/]" if result.ok else "[red]failed[/] (below)"
        counts = result.counts
        table.add_row(result.source, window, str(counts.new), str(counts.updated), str(counts.unchanged), outcome)
    console.print(table)
    for result in results:
        if not result.ok:
            console.print(
                f"[red]{escape(result.source)} failed:[/] {escape(result.error or '')}", soft_wrap=True, highlight=False
            )
            if result.fix:
                console.print(f"  [yellow]fix:[/] {escape(result.fix)}", soft_wrap=True, highlight=False)


class ActivityFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"


@app.command()
def activities(
    format: Annotated[ActivityFormat, typer.Option("--format", help="table, or jsonl: one record per line")] = (
        ActivityFormat.table
    ),
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    since: Annotated[str | None, typer.Option(help="occurred at or after (your timezone)")] = None,
    until: Annotated[str | None, typer.Option(help="occurred before (your timezone)")] = None,
) -> None:
    """List harvested activities; `--format jsonl` writes the public activity record format."""
    with user_errors():
        app_ = open_app()
        start, end = _moment(since, app_, "--since"), _moment(until, app_, "--until")
        with app_.sessions() as session:
            records = repository.list_activities(
                session, app_.user_id, sources=[source] if source else None, since=start, until=end
            )
    if format is ActivityFormat.jsonl:
        out = sys.stdout
        for record in records:
            out.write(record.to_jsonl() + "\n")
        out.flush()
        return
    table = Table(title=f"{len(records)} activities", title_justify="left")
    for column in ("when", "kind", "repo", "title"):
        table.add_column(column)
    for record in records:
        when = record.occurred_at.astimezone(app_.zone).strftime("%Y-%m-%d %H:%M")
        table.add_row(when, record.kind, escape(record.repo), escape(record.title))
    console.print(table)


@app.command()
def demo() -> None:
    """Run the whole product against local sandbox servers, offline, in a throwaway database."""
    from harvester.demo import run_demo

    with user_errors():
        code = run_demo(console)
    raise typer.Exit(code)


def main() -> None:
    app()
