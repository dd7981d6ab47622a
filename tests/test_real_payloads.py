"""The connectors and the sandboxes against payloads real servers sent.

The payloads were recorded by other projects' test suites (PyGithub's ReplayData, the jira-ruby
and Perceval Jira fixtures, KDE libkgapi's and Compass's Calendar fixtures) and trimmed; where
each came from is in tests/fixtures/real/README.md. Two kinds of test:

- the recorded payload is served as it is, the real client library parses it, and the connector
  turns it into exactly the activities expected;
- the sandbox answers the connector's own requests, and at every path the connector's reading
  code reads (found by running that code, see payload_shapes.read_paths) it has the types the
  recorded payload has there, so a sandbox cannot drift from what the services send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from re import Match
from typing import Any

import pytest
from payload_shapes import (
    all_paths,
    answer_to,
    read_paths,
    real_payload,
    record_answers,
    shape_differences,
)
from streams_support import read_all
from support import NOW
from test_connectors_foreign_payloads import records

from connectors.github.connector import (
    GitHubConnector,
    graphql_error,
    pull_request_activity,
    reviews_page,
    search_page,
)
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.connector import GoogleCalendarConnector, event_activity, events_page
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.connector import JiraConnector, custom_field_ids, ticket_activity
from connectors.jira.sandbox import DEFAULT_API_TOKEN, DEFAULT_PAT, JiraSandbox
from harvester.people import person_entry
from harvester.records import Activity
from harvester.sandbox.scenario import Scenario
from harvester.sandbox.server import Request, Response, SandboxServer
from harvester.timeutil import Window

LAST_FOUR_WEEKS = Window(NOW - timedelta(weeks=4), NOW)


@pytest.fixture
def canned() -> Iterator[SandboxServer]:
    """A server answering only the routes a test gives it."""
    with SandboxServer() as running:
        yield running


def serve(server: SandboxServer, method: str, path: str, body: Any) -> None:
    server.route(method, path, lambda _r, _m: Response(200, body))


def test_shape_comparison_reports_missing_and_mistyped_paths_read() -> None:
    real = {"items": [{"id": "a", "end": {"dateTime": "x"}, "note": None}], "next": "t"}
    served = {"items": [{"id": 7, "end": {}, "note": 1}, {"id": None}]}
    paths = read_paths(
        lambda page: [(i["id"], i.get("end", {}).get("dateTime"), i.get("note")) for i in page["items"]], real
    )
    assert paths == {"items", "items[].id", "items[].end", "items[].end.dateTime", "items[].note"}
    # a null real value says nothing about the type; `next` was not read
    assert shape_differences(real, served, paths) == [
        "items[].end.dateTime: missing (real: string)",
        "items[].id: null, number (real: string)",
    ]


# GitHub ------------------------------------------------------------------------------------------


def read_search_page(page: Any) -> None:
    for item in search_page(page, 1).items:
        pull_request_activity(item)


def test_github_recorded_search_page_becomes_the_merged_pull_requests(canned: SandboxServer) -> None:
    serve(canned, "GET", r"/search/issues", real_payload("github/search_issues_2014.json"))
    connector = GitHubConnector(
        "ghp_test", base_url=canned.base_url, login="octo", reviews=False, backoff_factor=0, max_rate_limit_wait=5
    )

    found = records(read_all(connector, Window(datetime(2012, 1, 1, tzinfo=UTC), NOW)))

    # the open pull request (no closed_at, no merged_at) is not an activity
    assert [(a.extra["number"], a.occurred_at, a.title, a.url, a.labels, a.author) for a in found] == [
        (
            997,
            datetime(2013, 6, 2, 7, 8, 58, tzinfo=UTC),
            "Make sceMpeg and sceAtrac basiclly workable for PC ",
            "https://github.com/hrydgard/ppsspp/pull/997",
            (),
            "oioitff",
        ),
        (
            1817,
            datetime(2014, 1, 27, 11, 21, 39, tzinfo=UTC),
            "High pt taus: TauID for 2014",
            "https://github.com/cms-sw/cmssw/pull/1817",
            (
                "analysis-approved",
                "dqm-approved",
                "reconstruction-approved",
                "fully-signed",
                "tests-approved",
                "orp-approved",
            ),
            "jpavel",
        ),
    ]
    assert found[0].body.startswith("I use ffmpeg for video decoding")
    assert [r.path for r in canned.requests] == ["/search/issues"]


def test_github_item_without_repository_url_still_names_its_repository() -> None:
    item = real_payload("github/search_issues_2014.json")["items"][0]
    activity = pull_request_activity(item)
    assert activity is not None and activity.repo == "hrydgard/ppsspp"


def test_github_recorded_unmerged_pull_request_and_issue_are_not_activities() -> None:
    pull_request, issue = real_payload("github/issues_list_2024.json")
    # a recorded open pull request: `pull_request.merged_at` is present and null
    assert pull_request["pull_request"]["merged_at"] is None
    assert pull_request_activity(pull_request) is None
    # an issue has no pull_request and no closed_at
    assert issue["closed_at"] is None and pull_request_activity(issue) is None


def sandbox_github_answers(scenario: Scenario) -> list[tuple[Request, Any]]:
    with GitHubSandbox(scenario) as github:
        answers = record_answers(github)
        # a login the sandbox does not know: its GraphQL answers NOT_FOUND, like GitHub
        stranger = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, login="nobody-here", backoff_factor=0)
        read_all(stranger, LAST_FOUR_WEEKS)
        read_all(GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, backoff_factor=0), LAST_FOUR_WEEKS)
    return answers


@pytest.fixture
def github_answers(scenario: Scenario) -> list[tuple[Request, Any]]:
    return sandbox_github_answers(scenario)


def test_github_sandbox_search_answers_like_the_recorded_ones(github_answers: list[tuple[Request, Any]]) -> None:
    served = next(body for r, body in github_answers if r.path == "/search/issues" and body["items"])
    old = real_payload("github/search_issues_2014.json")
    # the 2024 list of issues: the same item schema as search items, in today's shape
    recent = {"items": real_payload("github/issues_list_2024.json")}
    paths = read_paths(read_search_page, served) | read_paths(read_search_page, old)
    assert "items[].pull_request.merged_at" in paths and "total_count" in paths
    assert shape_differences(old, served, paths) == []
    assert shape_differences(recent, served, paths | all_paths(recent)) == []


def test_github_sandbox_user_answers_like_the_recorded_one(github_answers: list[tuple[Request, Any]]) -> None:
    real = real_payload("github/user_2025.json")
    assert shape_differences(real, answer_to(github_answers, "GET", "/user"), all_paths(real)) == []


def test_github_sandbox_graphql_page_info_and_errors_answer_like_the_recorded_ones(
    github_answers: list[tuple[Request, Any]],
) -> None:
    served = [body for r, body in github_answers if r.path == "/graphql"]
    reviews = next(body for body in served if "errors" not in body)
    not_found = next(body for body in served if "errors" in body)
    # no recorded answer to a contributionsCollection query exists: compare the connection's
    # pageInfo (GitHub answers only the fields asked for, so the paths are the sandbox's)
    contributions = "data.user.contributionsCollection.pullRequestReviewContributions."
    page_info = {
        path.removeprefix(contributions)
        for path in read_paths(reviews_page, reviews)
        if path.startswith(contributions + "pageInfo.")
    }
    assert page_info == {"pageInfo.hasNextPage", "pageInfo.endCursor"}
    discussions = real_payload("github/graphql_connection_2024.json")["data"]["repository"]["discussions"]
    ours = reviews["data"]["user"]["contributionsCollection"]["pullRequestReviewContributions"]
    assert shape_differences(discussions, ours, page_info) == []

    real_error = real_payload("github/graphql_not_found.json")

    def read_error(answer: Any) -> None:
        graphql_error(answer)

    paths = read_paths(read_error, real_error) | read_paths(read_error, not_found)
    assert "errors[].type" in paths
    assert shape_differences(real_error, not_found, paths | {"errors[].locations"}) == []


# Jira --------------------------------------------------------------------------------------------

PAGES = {0: "jira/server_search_page_1.json", 2: "jira/server_search_page_2.json"}


class RecordedJira:
    """A Jira Server serving the recorded answers to the connector's one search."""

    def __init__(self, server: SandboxServer) -> None:
        page = real_payload(PAGES[0])
        # the recorded pages' assignee, a Server user object, stands in for /myself
        self.me = page["issues"][0]["fields"]["assignee"]
        serve(server, "GET", r"/rest/api/2/serverInfo", real_payload("jira/server_info_server.json"))
        serve(server, "GET", r"/rest/api/2/myself", self.me)
        serve(server, "GET", r"/rest/api/2/field", real_payload("jira/server_fields.json"))
        server.route("GET", r"/rest/api/2/search", self.search)

    def search(self, request: Request, _match: Match[str]) -> Response:
        return Response(200, real_payload(PAGES[int(request.param("startAt") or 0)]))


def test_jira_recorded_server_pages_become_the_resolved_ticket(canned: SandboxServer) -> None:
    RecordedJira(canned)
    connector = JiraConnector(canned.base_url, pat="pat-token", sleep=lambda _s: None)
    window = Window(datetime(2016, 3, 1, tzinfo=UTC), datetime(2016, 3, 8, tzinfo=UTC))

    (ticket,) = records(read_all(connector, window))

    # two of the three recorded issues are open, with no resolution date: not finished work
    assert ticket == Activity(
        id="jira:HELP-6042",
        source="jira",
        kind="ticket",
        title="",
        body="",
        url=f"{canned.base_url}/browse/HELP-6042",
        occurred_at=datetime(2016, 3, 3, 14, 30, 17, tzinfo=UTC),
        author="User1",
        extra={
            "key": "HELP-6042",
            "issue_type": "extRequest",
            "status": "Closed",
            "status_category": "done",
            "resolution": "Done",
            "priority": "Major",
            "project": "HELP",
            "project_name": "Help-Desk",
            "assignee": "User1",
            # reported by User2, who shows no email: the key of their name (the assignee is the user)
            "people": [person_entry(None, "User2")],
        },
    )
    # the client pages by the server's own maxResults (2) until total (3)
    starts = [r.query.get("startAt") for r in canned.requests if r.path == "/rest/api/2/search"]
    assert starts == [["0"], ["2"]]


def test_jira_recorded_changelog_dates_the_users_own_done_transition() -> None:
    issue = real_payload("jira/server_issue_with_changelog.json")
    # "amilash" closed it; "mgronski" only resolved it, which is not a done status
    closer = {"name": "amilash", "displayName": "admin"}
    activity = ticket_activity(issue, server="http://localhost:2990/jira", me=closer)
    assert activity is not None
    assert activity.occurred_at == datetime(2012, 2, 2, 18, 38, 37, tzinfo=UTC)
    assert (activity.id, activity.title, activity.extra["status"]) == ("jira:SAMPLEPROJECT-1", "Sample Issue", "Open")
    assert ticket_activity(issue, server="http://localhost:2990/jira", me={"name": "mgronski"}) is None


def test_jira_recorded_fields_name_no_story_points_or_epic() -> None:
    assert custom_field_ids(real_payload("jira/server_fields.json")) == {}


@pytest.fixture
def jira_answers(scenario: Scenario) -> tuple[list[tuple[Request, Any]], dict[str, Any]]:
    with JiraSandbox(scenario, deployment="Server") as jira:
        answers = record_answers(jira)
        read_all(JiraConnector(jira.base_url, pat=DEFAULT_PAT, backoff_factor=0), LAST_FOUR_WEEKS)
    return answers, answer_to(answers, "GET", "/myself")


def read_issues(me: dict[str, Any]) -> Any:
    def read(page: Any) -> None:
        for issue in page["issues"]:
            ticket_activity(issue, server="https://jira.example", me=me)

    return read


def test_jira_sandbox_search_answers_like_the_recorded_server(
    jira_answers: tuple[list[tuple[Request, Any]], dict[str, Any]],
) -> None:
    answers, me = jira_answers
    served = [body for r, body in answers if r.path == "/rest/api/2/search" and body["issues"]]
    with_changelog = next(body for body in served if any("changelog" in issue for issue in body["issues"]))
    page = real_payload(PAGES[0])
    changelog = {"issues": [real_payload("jira/server_issue_with_changelog.json")]}
    paths = (
        read_paths(read_issues(me), with_changelog)
        | read_paths(read_issues(page["issues"][1]["fields"]["assignee"]), page)
        | read_paths(read_issues({"name": "amilash"}), changelog)
        # the client pages by these (jira client.py _fetch_pages)
        | {key for key in page if key != "issues"}
    )
    assert "issues[].changelog.histories[].items[].toString" in paths
    assert shape_differences(page, with_changelog, paths) == []
    assert shape_differences(changelog, with_changelog, paths) == []


def test_jira_sandbox_server_info_and_fields_answer_like_the_recorded_server(
    jira_answers: tuple[list[tuple[Request, Any]], dict[str, Any]],
) -> None:
    answers, _me = jira_answers
    info = real_payload("jira/server_info_server.json")
    assert shape_differences(info, answer_to(answers, "GET", "/serverInfo"), all_paths(info)) == []
    fields = real_payload("jira/server_fields.json")
    served = answer_to(answers, "GET", "/field")
    paths = read_paths(custom_field_ids, fields) | read_paths(custom_field_ids, served)
    assert shape_differences(fields, served, paths) == []


def test_jira_recorded_cloud_issue_becomes_a_ticket_with_its_document_format_description(
    canned: SandboxServer,
) -> None:
    issue = real_payload("jira/cloud_issue_v3.json")
    me = issue["fields"]["assignee"]
    serve(canned, "GET", r"/rest/api/2/serverInfo", real_payload("jira/server_info_cloud.json"))
    serve(canned, "GET", r"/rest/api/2/myself", me)
    serve(canned, "GET", r"/rest/api/2/field", real_payload("jira/server_fields.json"))
    # no enhanced-search answer was recorded: the recorded issue in the documented envelope
    canned.route(
        "GET",
        r"/rest/api/3/search/jql",
        lambda _r, _m: Response(200, {"issues": [issue], "isLast": True}),
    )
    connector = JiraConnector(
        canned.base_url, email="integration-test@airbyte.io", token="t" * 24, sleep=lambda _s: None
    )
    window = Window(datetime(2022, 6, 1, tzinfo=UTC), datetime(2022, 6, 15, tzinfo=UTC))

    (ticket,) = records(read_all(connector, window))

    # no resolution date and no changelog: the status category change dates it
    assert ticket.occurred_at == datetime(2022, 6, 9, 23, 29, 32, 382000, tzinfo=UTC)
    assert (ticket.id, ticket.title, ticket.body, ticket.labels) == (
        "jira:TESTKEY13-1",
        "My Summary",
        "Test issue",
        ("test",),
    )
    assert ticket.author == "integration test"
    assert ticket.extra["issue_type"] == "Epic" and ticket.extra["status_category"] == "new"
    assert [r.path for r in canned.requests].count("/rest/api/3/search/jql") == 1


def test_jira_sandbox_cloud_answers_like_the_recorded_cloud(scenario: Scenario) -> None:
    with JiraSandbox(scenario, deployment="Cloud") as jira:
        answers = record_answers(jira)
        connector = JiraConnector(jira.base_url, email=scenario.email, token=DEFAULT_API_TOKEN, backoff_factor=0)
        read_all(connector, LAST_FOUR_WEEKS)
    info = real_payload("jira/server_info_cloud.json")
    assert shape_differences(info, answer_to(answers, "GET", "/serverInfo"), all_paths(info)) == []
    served = next(body for r, body in answers if r.path.endswith("/search/jql") and body["issues"])
    real = {"issues": [real_payload("jira/cloud_issue_v3.json")]}
    me = answer_to(answers, "GET", "/myself")
    paths = read_paths(read_issues(me), served) | read_paths(read_issues(me), real)
    assert "issues[].fields.description.content[].content[].text" in paths
    assert shape_differences(real, served, paths) == []


# Google Calendar ---------------------------------------------------------------------------------

EVENTS = "/calendar/v3/calendars/primary/events"


def read_events(page: Any) -> None:
    for item in events_page(page).get("items", []):
        event_activity(item, "primary")


def calendar_token(tmp_path: Path, token_uri: str) -> Path:
    token_file = tmp_path / "google-token.json"
    info = {
        "token": "ya29.test",
        "refresh_token": "1//refresh",
        "token_uri": token_uri,
        "client_id": "client",
        "client_secret": "secret",
        "expiry": "2999-01-01T00:00:00Z",
    }
    token_file.write_text(json.dumps(info))
    return token_file


def test_calendar_recorded_pages_become_the_users_meetings(canned: SandboxServer, tmp_path: Path) -> None:
    first = real_payload("google_calendar/events_page_1.json")
    last = real_payload("google_calendar/events_recurring_last_page.json")
    pages = {None: first, first["nextPageToken"]: last}
    canned.route("GET", EVENTS, lambda request, _m: Response(200, pages[request.param("pageToken")]))
    connector = GoogleCalendarConnector(
        calendar_token(tmp_path, f"{canned.base_url}/token"),
        api_endpoint=f"{canned.base_url}/calendar/v3/",
        backoff_factor=0,
        sleep=lambda _s: None,
    )

    batches = read_all(connector, Window(datetime(2018, 3, 1, tzinfo=UTC), datetime(2023, 7, 20, tzinfo=UTC)))

    found = {a.extra["event_id"]: (a.title, a.occurred_at, a.extra["duration_minutes"]) for a in records(batches)}
    assert found == {
        "3if6lf59tove1e037baa75l54t": ("Cool Meeting about stuff", datetime(2018, 4, 1, 9, 30, tzinfo=UTC), 60),
        "02plgqebjprrro2sa3cc7d0lv2": ("Walk Snickers", datetime(2023, 7, 17, 15, 0, tzinfo=UTC), 60),
        "02plgqebjprrro2sa3cc7d0lv2_20230718T140000Z": (
            "Walk Snickers | Edited This Event Only",
            datetime(2023, 7, 18, 22, 15, tzinfo=UTC),
            60,
        ),
        "2868n4lbgrab29cilaqsfs83i9": (
            "Write Newsletter | Weekly on Mon",
            datetime(2023, 7, 17, 16, 0, tzinfo=UTC),
            60,
        ),
    }
    assert [(r.query.get("pageToken") or [None])[0] for r in canned.requests] == [None, first["nextPageToken"]]
    cursor = batches[-1].checkpoint
    assert cursor is not None and cursor.state["sync_token"] == last["nextSyncToken"]


def test_calendar_recorded_events_map_organizer_attendees_and_all_day() -> None:
    (meeting,) = real_payload("google_calendar/events_page_1.json")["items"]
    activity = event_activity(meeting, "primary")
    assert activity is not None and activity.url == meeting["htmlLink"]
    assert dict(activity.extra) == {
        "calendar": "primary",
        "event_id": "3if6lf59tove1e037baa75l54t",
        "start": "2018-04-01T10:30:00+02:00",
        "duration_minutes": 60,
        "organized": True,
        "attendee_count": 2,
        "recurring": False,
        "conference": None,
        # the two recorded attendees, by their emails' keys (no display names recorded)
        "people": sorted(person_entry(f"attendee{n}@kde.test") for n in (1, 2)),
    }
    # a recorded all-day event (start.date, no dateTime) is not a meeting
    (sprint,) = real_payload("google_calendar/events_page_2.json")["items"]
    assert "date" in sprint["start"] and event_activity(sprint, "primary") is None
    instance = real_payload("google_calendar/events_recurring_last_page.json")["items"][1]
    mapped = event_activity(instance, "primary")
    assert mapped is not None and mapped.extra["recurring"] is True


def test_calendar_sandbox_events_answer_like_the_recorded_pages(scenario: Scenario, tmp_path: Path) -> None:
    with GoogleCalendarSandbox(scenario) as calendar:
        answers = record_answers(calendar)
        token_file = tmp_path / "google-token.json"
        token_file.write_text(json.dumps(calendar.authorized_user_info()))
        connector = GoogleCalendarConnector(token_file, api_endpoint=calendar.calendar_url(), backoff_factor=0)
        read_all(connector, LAST_FOUR_WEEKS)
        # the connector's own request, a page of one: the sandbox's answer to it is not the last page
        request = next(request for request, _body in answers if request.path.endswith("/events"))
        first_page = calendar.dispatch(replace(request, query={**request.query, "maxResults": ["1"]})).body
    last_page = answer_to(answers, "GET", "/events")
    assert last_page["items"] and "nextSyncToken" in last_page and "nextPageToken" in first_page
    # the page of one carries a single event, which may lack what others have: the events are the whole listing's
    not_last = {**first_page, "items": last_page["items"]}
    for name, served in (("events_page_1.json", not_last), ("events_recurring_last_page.json", last_page)):
        real = real_payload(f"google_calendar/{name}")
        paths = read_paths(read_events, served) | read_paths(read_events, real)
        assert "items[].attendees[].responseStatus" in paths
        assert shape_differences(real, served, paths) == [], name
