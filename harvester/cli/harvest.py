"""`brag harvest` and `brag activities`: fetching work from the sources and listing what was stored."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harvester.cli.common import (
    EXIT_SOURCE_FAILED,
    _known_source,
    _window_options,
    console,
    err_console,
    open_context,
    user_errors,
)
from harvester.errors import ConfigError

if TYPE_CHECKING:
    from harvester.context import Context
    from harvester.sync import SourceResult


def harvest(
    source: Annotated[str | None, typer.Option("--source", help="harvest only this source (e.g. github)")] = None,
    since: Annotated[str | None, typer.Option(help="start, inclusive: date or datetime in your timezone")] = None,
    until: Annotated[str | None, typer.Option(help="end, exclusive: date or datetime in your timezone")] = None,
) -> None:
    """Harvest new work from every configured source (or one), continuing from where the last run stopped."""
    from harvester.sources import available_sources

    with user_errors():
        context = open_context()
        start, end = _window_options(context, since, until, until_may_be_future=False)
        _known_source(source)
        if context.team_mode:
            raise ConfigError(
                "in team mode each member is harvested with the accounts they connected, by `brag worker` "
                "(queued by `brag run`); `brag harvest` is for the single-user tool",
                path=context.config.path,
            )
        connectors = context.connectors(source)
        if not connectors:
            names = [f"[{name}]" for name in sorted(available_sources())]
            wanted = f"[{source}]" if source else f"{', '.join(names[:-1])} or {names[-1]}"
            hint = f"source {source!r} is not configured" if source else "no source is configured"
            raise ConfigError(
                f"{hint}; add a {wanted} section (see config/brag.example.toml, or run `brag init`)",
                path=context.config.path,
            )
        results = run_harvest(context, source, start, end)
    print_summary(results)
    with user_errors():
        weeks = context.recluster_changed(results)
    if weeks:
        total = sum(week.candidates for week in weeks)
        console.print(
            f"Re-clustered {len(weeks)} week(s): {total} candidates ({', '.join(w.week for w in weeks)}). "
            "See them with: brag candidates"
        )
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_SOURCE_FAILED)


def run_harvest(
    context: Context, source: str | None, since: datetime | None, until: datetime | None
) -> list[SourceResult]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from harvester.sync import Progress as HarvestProgress

    if not err_console.is_terminal:

        def plain(event: HarvestProgress) -> None:
            total = f"/{event.expected}" if event.expected is not None else ""
            err_console.print(f"{event.source}: {event.done}{total} items", highlight=False)

        return context.harvest(only=source, since=since, until=until, progress=plain)
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

        return context.harvest(only=source, since=since, until=until, progress=update)


def print_summary(results: list[SourceResult]) -> None:
    from rich.table import Table

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
        for note in result.notes:
            console.print(f"[yellow]{escape(result.source)}:[/] {escape(note)}", soft_wrap=True, highlight=False)
        if not result.ok:
            console.print(
                f"[red]{escape(result.source)} failed:[/] {escape(result.error or '')}", soft_wrap=True, highlight=False
            )
            if result.fix:
                console.print(f"  [yellow]fix:[/] {escape(result.fix)}", soft_wrap=True, highlight=False)


class ActivityFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"


def activities(
    format: Annotated[ActivityFormat, typer.Option("--format", help="table, or jsonl: one record per line")] = (
        ActivityFormat.table
    ),
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    since: Annotated[str | None, typer.Option(help="occurred at or after (your timezone)")] = None,
    until: Annotated[str | None, typer.Option(help="occurred before (your timezone)")] = None,
) -> None:
    """List harvested activities; `--format jsonl` writes the public activity record format."""
    from harvester.cli.tables import activity_table
    from harvester.store import repository

    _known_source(source)
    with user_errors():
        context = open_context()
        start, end = _window_options(context, since, until, until_may_be_future=True)
        with context.sessions() as session:
            records = repository.list_activities(
                session, context.user_id, sources=[source] if source else None, since=start, until=end
            )
    if format is ActivityFormat.jsonl:
        out = sys.stdout
        for record in records:
            out.write(record.to_jsonl() + "\n")
        out.flush()
        return
    console.print(activity_table(records, context.zone))
