"""What every command shares: the consoles, the configuration it read, and errors as one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from harvester.errors import BragError, ConfigError

if TYPE_CHECKING:
    from harvester.config import LoadedConfig
    from harvester.context import Context


console = Console()


err_console = Console(stderr=True)


T = TypeVar("T")


EXIT_SOURCE_FAILED = 1


EXIT_CONFIG = 2


class State:
    config_path: Path | None = None
    # the file a command read, so errors raised later (a connector's, a secret's) can name it
    loaded_path: Path | None = None


state = State()


def read_config(*, missing_ok: bool = False) -> LoadedConfig:
    from harvester.config import load_config

    config = load_config(state.config_path, missing_ok=missing_ok)
    state.loaded_path = config.path
    return config


def open_context() -> Context:
    from harvester.context import Context

    return Context.open(read_config())


@contextmanager
def user_errors() -> Iterator[None]:
    """Errors meant for the user end the command with one clear line, not a traceback."""
    try:
        yield
    except ConfigError as exc:
        where = f"{state.loaded_path}: " if exc.path is None and state.loaded_path is not None else ""
        err_console.print(
            f"[bold red]configuration error:[/] {escape(where + str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(EXIT_CONFIG) from None
    except BragError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED) from None


def _moment(text: str | None, context: Context, option: str) -> datetime | None:
    from harvester.timeutil import parse_moment

    if text is None:
        return None
    try:
        return parse_moment(text, context.zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _window_options(
    context: Context, since: str | None, until: str | None, *, until_may_be_future: bool
) -> tuple[datetime | None, datetime | None]:
    """`--since/--until` as moments; an inverted window or one starting in the future is a usage error."""
    start, end = _moment(since, context, "--since"), _moment(until, context, "--until")
    now = context.now()
    if start is not None and start > now:
        raise typer.BadParameter(f"{since} is in the future (now is {now:%Y-%m-%d %H:%M})", param_hint="--since")
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter(f"{until} is not after --since {since}", param_hint="--until")
    if end is not None and end > now and not until_may_be_future:
        # a cursor saved at a future moment would skip whatever happens until then
        raise typer.BadParameter(
            f"{until} is in the future (now is {now:%Y-%m-%d %H:%M}); leave it out to harvest up to now",
            param_hint="--until",
        )
    return start, end


def _known_source(source: str | None) -> None:
    from harvester.sources import available_sources

    known = sorted(available_sources())
    if source is not None and source not in known:
        raise typer.BadParameter(
            f"unknown source {source!r}; the sources are: {', '.join(known)}", param_hint="--source"
        )


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-07-01", param_hint=option) from None
