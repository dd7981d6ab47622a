"""Every command's `--help` as the user reads it: words in square brackets stay, no flag shows a type.

The help is rendered through typer's click group, one command at a time, from the command tree
itself, so a command added later is checked too. Rich help markup would read "[schedule]" as a
tag and drop it; a type shown after a flag (`--send <bool>`) reads as if the flag took a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from harvester.cli import app

runner = CliRunner()
BRACKETED = re.compile(r"\[[^\[\]]+\]")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under `command`, with the words that run it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


COMMANDS = dict(commands(typer.main.get_command(app)))


def written_help(command: Any) -> list[str]:
    """The help the code gives: the command's own text and each parameter's."""
    return [text for text in [command.help, *(getattr(p, "help", None) for p in command.params)] if text]


def rendered_help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def flat(text: str) -> str:
    """Whitespace collapsed: click re-wraps the help to the terminal's width."""
    return " ".join(text.split())


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "brag")
def test_help_shows_square_brackets_and_no_flag_types(path: tuple[str, ...]) -> None:
    shown = flat(rendered_help(path))
    for written in written_help(COMMANDS[path]):
        for bracketed in BRACKETED.findall(written):
            assert flat(bracketed) in shown, f"{bracketed!r} of `brag {' '.join(path)} --help` is missing"
    assert "<bool>" not in shown
    for flag in ("--help", "--send", "--verbose", "--browser"):
        assert not re.search(rf"{flag} <", shown)


def test_the_brackets_the_issue_saw_swallowed_are_shown() -> None:
    # the two sentences that read "at the  times." and "the one in  base_url" under Rich markup
    assert "at the [schedule] times." in flat(rendered_help(("run",)))
    assert "the one in [web] base_url" in flat(rendered_help(("serve",)))
    assert "--send queue the week's digest" in flat(rendered_help(("digest",)))
