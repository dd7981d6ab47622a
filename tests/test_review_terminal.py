"""`brag review` in a real pseudo-terminal: each decision is one keystroke, without Enter.

A `brag review` process runs on a seeded store behind a pty (pexpect), keys are sent as a person
types them, and the store is read afterwards. readchar discards typed-ahead input when it puts
the terminal in raw mode for a key, so each key is sent once the terminal's echo is off: that is
the moment the process waits for exactly one key.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from review_support import Seeded, config_file, open_context, seed

from harvester.context import Context
from harvester.review import ReviewService
from harvester.store import repository

# the prompt that waits for an action key (its last words)
ACTION_PROMPT = "q=quit"
# generous: the first prompt waits for the process to start and open the store
WAIT = 60


@pytest.fixture
def store(database_url: str) -> tuple[Context, Seeded]:
    """The seeded store, and the ids of its candidates."""
    context = open_context(database_url)
    return context, seed(context.sessions, context.user_id)


@pytest.fixture
def terminal(tmp_path: Path, database_url: str, store: tuple[Context, Seeded]) -> Iterator[pexpect.spawn]:
    config = config_file(tmp_path, database_url)
    # a dumb terminal: rich prints no colour codes between the words the test waits for
    env = {**os.environ, "TERM": "dumb", "BRAG_CONFIG": str(config)}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "harvester", "review"],
        env=env,
        encoding="utf-8",
        timeout=WAIT,
        dimensions=(50, 160),
    )
    yield child
    child.close(force=True)


def press(child: pexpect.spawn, key: str) -> None:
    """One keystroke, sent when the process waits for it (raw mode turns the echo off)."""
    assert child.waitnoecho(timeout=WAIT), "the review never waited for a key"
    child.send(key)


def type_line(child: pexpect.spawn, prompt: str, text: str) -> None:
    child.expect_exact(prompt)
    child.sendline(text)


def finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def row_state(context: Context, public_id: str) -> tuple[str, str | None]:
    with context.sessions() as session:
        row = repository.candidate_by_public_id(session, context.user_id, public_id)
        assert row is not None
        return row.state, row.impact


def members(context: Context, public_id: str) -> list[str]:
    with context.sessions() as session:
        return list(ReviewService(session, context.user_id).snapshot(public_id).activity_ids)


def pending(context: Context) -> list[str]:
    with context.sessions() as session:
        return [row.public_id for row in repository.candidate_rows(session, context.user_id, states=["pending"])]


def test_approve_with_impact_reject_and_quit_one_key_each(
    terminal: pexpect.spawn, store: tuple[Context, Seeded]
) -> None:
    context = store[0]
    first, second, *rest = pending(context)
    terminal.expect_exact(ACTION_PROMPT)
    # the kinds read as words, from the evidence table
    assert "Pull request" in str(terminal.before) and "pull_request" not in str(terminal.before)
    press(terminal, "a")
    type_line(terminal, "Impact", "Search is 3x faster")
    # Enter keeps the drafted title
    type_line(terminal, "Title (Enter keeps it)", "")
    terminal.expect_exact("Approved")
    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "r")
    terminal.expect_exact(f"Rejected {second}")
    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "q")
    output = finish(terminal)
    assert row_state(context, first) == ("approved", "Search is 3x faster")
    assert row_state(context, second) == ("rejected", None)
    assert pending(context) == rest
    # every candidate still pending counts, not only the ones skipped
    assert f"1 approved, 1 rejected, {len(rest)} left for later" in output


def listed_number(child: pexpect.spawn, public_id: str) -> str:
    """The number the merge list gives a candidate, read off the screen."""
    child.expect(rf"(\d+)\. \S+ · {re.escape(public_id)} · ")
    return str(child.match.group(1))


def test_merge_and_split_by_number_then_undo(terminal: pexpect.spawn, store: tuple[Context, Seeded]) -> None:
    context, seeded = store
    assert pending(context)[:2] == [seeded.earlier, seeded.payments]
    terminal.expect_exact(ACTION_PROMPT)
    # the week-45 candidate first: skip it for the payments work of week 46
    press(terminal, "n")
    terminal.expect_exact(f"{seeded.payments} · 2026-W46")
    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "m")
    # the list names this week's others and last week's pending candidate
    number = listed_number(terminal, seeded.credentials)
    assert listed_number(terminal, seeded.earlier) != number
    press(terminal, number)
    terminal.expect_exact(f"Merged {seeded.credentials} into {seeded.payments}")
    assert row_state(context, seeded.credentials)[0] == "merged"
    assert "jira:OPS-7" in members(context, seeded.payments)

    # the candidate is shown again with the merged item numbered among its evidence
    terminal.expect_exact(ACTION_PROMPT)
    item = members(context, seeded.payments).index("jira:OPS-7") + 1
    terminal_text = str(terminal.before)
    assert f"  {item}. Ticket " in terminal_text and "Rotate the staging database credentials" in terminal_text
    press(terminal, "s")
    terminal.expect_exact("Split out item number")
    press(terminal, str(item))
    terminal.expect_exact("Split jira:OPS-7 out into")
    assert "jira:OPS-7" not in members(context, seeded.payments)

    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "u")
    terminal.expect_exact("Undone: split")
    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "q")
    output = finish(terminal)
    assert "jira:OPS-7" in members(context, seeded.payments)
    assert row_state(context, seeded.credentials)[0] == "merged"
    assert f"0 approved, 0 rejected, {len(pending(context))} left for later" in output


def test_enter_backs_out_of_a_merge_and_ctrl_c_out_of_an_approval(
    terminal: pexpect.spawn, store: tuple[Context, Seeded]
) -> None:
    context, seeded = store
    before = pending(context)
    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "n")
    terminal.expect_exact(ACTION_PROMPT)
    press(terminal, "m")
    terminal.expect_exact("Enter backs out")
    press(terminal, "\r")
    # the same candidate asks again; nothing was merged
    terminal.expect_exact(ACTION_PROMPT)
    assert seeded.payments in str(terminal.before)
    press(terminal, "a")
    terminal.expect_exact("Impact")
    terminal.sendcontrol("c")
    terminal.expect_exact(ACTION_PROMPT)
    assert seeded.payments in str(terminal.before)
    press(terminal, "q")
    finish(terminal)
    assert pending(context) == before
