"""Answers that arrive but cannot be read: cut off on the wire, not JSON, an HTML page, the wrong shape.

Each sandbox spoils a real answer on its way out (`inject(0, spoil=...)`). Once, the connector
retries and the harvest is exactly the clean one; every time, the source fails with a transient
error naming what the server sent, and no batch carries a checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from streams_support import read_all, read_streams
from support import NOW

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.connector import GoogleCalendarConnector
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.connector import JiraConnector
from connectors.jira.sandbox import DEFAULT_API_TOKEN, JiraSandbox
from harvester.errors import TransientError
from harvester.sandbox.scenario import Scenario
from harvester.sandbox.server import SPOILS, SandboxServer
from harvester.sources import Batch, Connector, Cursor
from harvester.timeutil import Window

WINDOW = Window(NOW - timedelta(weeks=4), NOW)
# spoils that change every answer they touch; the list-based ones leave an answer without lists as it was
SPOIL_EVERY_ANSWER = ("cut_on_the_wire", "chunks_cut", "not_json", "html_page", "empty_object", "wrapped_in_a_list")


def no_sleep(_seconds: float) -> None:
    pass


def github_setup(scenario: Scenario, _tmp: Path) -> tuple[SandboxServer, Connector]:
    server = GitHubSandbox(scenario).start()
    return server, GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url, sleep=no_sleep)


def jira_setup(scenario: Scenario, _tmp: Path) -> tuple[SandboxServer, Connector]:
    server = JiraSandbox(scenario).start()
    return server, JiraConnector(server.base_url, email=scenario.email, token=DEFAULT_API_TOKEN, sleep=no_sleep)


def calendar_setup(scenario: Scenario, tmp: Path) -> tuple[SandboxServer, Connector]:
    server = GoogleCalendarSandbox(scenario).start()
    token_file = tmp / "google-token.json"
    token_file.write_text(json.dumps(server.authorized_user_info()))
    return server, GoogleCalendarConnector(token_file, api_endpoint=server.calendar_url(), sleep=no_sleep)


Setup = Callable[[Scenario, Path], tuple[SandboxServer, Connector]]
# every request a harvest of each source makes
TARGETS: list[tuple[str, Setup, str]] = [
    ("github", github_setup, "/user"),
    ("github", github_setup, "/search/issues"),
    ("github", github_setup, "/graphql"),
    ("jira", jira_setup, "/serverInfo"),
    ("jira", jira_setup, "/myself"),
    ("jira", jira_setup, "/field"),
    ("jira", jira_setup, "/search"),
    ("google_calendar", calendar_setup, "/events"),
]


@pytest.fixture(params=TARGETS, ids=[f"{source}{path}" for source, _setup, path in TARGETS])
def target(
    request: pytest.FixtureRequest, scenario: Scenario, tmp_path: Path
) -> Iterator[tuple[SandboxServer, Connector, str, set[str]]]:
    _source, setup, path = request.param
    server, connector = setup(scenario, tmp_path)
    try:
        clean = {a.id for batch in read_all(connector, WINDOW) for a in batch.activities}
        assert clean
        server.clear_log()
        yield server, connector, path, clean
    finally:
        server.stop()


def harvested(connector: Connector, batches: list[Batch]) -> None:
    batches.extend(read_all(connector, WINDOW))


def ids(batches: list[Batch]) -> set[str]:
    return {activity.id for batch in batches for activity in batch.activities}


def final_checkpoint(batches: list[Batch]) -> Cursor | None:
    return next((batch.checkpoint for batch in reversed(batches) if batch.checkpoint is not None), None)


@pytest.mark.parametrize("spoil", sorted(SPOILS))
def test_one_spoiled_answer_is_retried_and_nothing_is_missing(
    target: tuple[SandboxServer, Connector, str, set[str]], spoil: str
) -> None:
    server, connector, path, clean = target
    server.inject(0, spoil=spoil, path_contains=path)
    batches: list[Batch] = []
    harvested(connector, batches)
    assert ids(batches) == clean
    checkpoint = final_checkpoint(batches)
    assert checkpoint is not None and checkpoint.harvested_until == WINDOW.end


@pytest.mark.parametrize("spoil", SPOIL_EVERY_ANSWER)
def test_answers_spoiled_every_time_fail_the_source_naming_what_was_sent(
    target: tuple[SandboxServer, Connector, str, set[str]], spoil: str
) -> None:
    server, connector, path, _clean = target
    server.inject(0, times=1000, spoil=spoil, path_contains=path)
    batches: list[Batch] = []
    if path == "/graphql":
        # unreadable reviews: the summary says why and the reviews' cursor stays; the pull requests' moves on
        streams = read_streams(connector, WINDOW)
        batches = streams["reviews"]
        (note,) = [note for batch in batches for note in batch.notes]
        message = note
        assert final_checkpoint(streams["pull_requests"]) == Cursor(WINDOW.end)
    else:
        with pytest.raises(TransientError) as caught:
            harvested(connector, batches)
        message = str(caught.value)
    assert "times in a row" in message and "unexpected" not in message
    assert "check [github] login" not in message and "does not answer like Jira" not in message
    assert all(batch.checkpoint is None for batch in batches)


SENT: dict[str, str] = {
    "cut_on_the_wire": "an answer cut off before its end",
    "chunks_cut": "an answer cut off before its end",
    "not_json": "JSON that does not parse",
    "html_page": "an HTML page instead of JSON",
}


@pytest.mark.parametrize("spoil", sorted(SENT))
def test_the_message_names_what_the_server_sent(scenario: Scenario, tmp_path: Path, spoil: str) -> None:
    server, connector = github_setup(scenario, tmp_path)
    with server:
        server.inject(0, times=1000, spoil=spoil, path_contains="/user")
        with pytest.raises(TransientError) as caught:
            list(read_all(connector, WINDOW))
    message = str(caught.value)
    assert f"answered GET /user with {SENT[spoil]}" in message
    if spoil == "html_page":
        # an HTML page every time is what a web address (not the API) answers
        assert "[github] base_url" in message


def test_wrong_types_inside_items_are_unreadable_not_a_traceback(scenario: Scenario, tmp_path: Path) -> None:
    server, connector = jira_setup(scenario, tmp_path)
    odd: dict[str, Any] = {"issues": [{"key": "PAY-1", "fields": {"status": "Done"}}], "isLast": True}
    with server:
        server.inject(200, times=1000, body=odd, path_contains="/search")
        with pytest.raises(TransientError) as caught:
            list(read_all(connector, WINDOW))
    assert "issue PAY-1 whose 'status' is a string" in str(caught.value)


def test_a_jira_cloud_page_that_is_not_the_last_without_a_token_is_unreadable(
    scenario: Scenario, tmp_path: Path
) -> None:
    server, connector = jira_setup(scenario, tmp_path)
    with server:
        # the first page, as if its nextPageToken had been dropped: ending there would skip the rest
        first = {"issues": [], "isLast": False}
        server.inject(200, times=1000, body=first, path_contains="/search/jql")
        batches: list[Batch] = []
        with pytest.raises(TransientError) as caught:
            harvested(connector, batches)
    assert "not the last (isLast false) without a nextPageToken" in str(caught.value)
    assert all(batch.checkpoint is None for batch in batches)
