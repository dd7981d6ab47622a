"""The connectors against what a different but valid server may send, not what our sandboxes send.

Two kinds of test: the pure mapping functions fed minimal spec-valid payloads (required fields
only, nulls where the spec allows them), and the real client libraries run against a tiny
hand-written server (`SandboxServer` with canned routes, no scenario) that pages, rate-limits and
fails in ways our sandboxes never do. Each asserts the exact records and the number of requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import formatdate
from pathlib import Path
from re import Match
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from streams_support import read_all

from connectors.github.connector import GitHubConnector, pull_request_activity, rate_limit_wait
from connectors.google_calendar.connector import GoogleCalendarConnector, event_activity
from connectors.jira.connector import JiraConnector, custom_field_ids, parse_jira_time, ticket_activity
from harvester.errors import RateLimitError, SourceAuthError, TransientError
from harvester.records import Activity
from harvester.sandbox.server import Request, Response, SandboxServer
from harvester.sources import Batch
from harvester.timeutil import Window, parse_api_time, retry_after_seconds

WINDOW = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
HTML_401 = b"<html><head><title>Unauthorized</title></head><body><h1>401</h1></body></html>"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


def records(batches: list[Batch]) -> list[Activity]:
    return [activity for batch in batches for activity in batch.activities]


def http_date(offset: float = 0.0) -> str:
    return formatdate(time.time() + offset, usegmt=True)


def html(status: int) -> Response:
    return Response(status, HTML_401, {"Content-Type": "text/html; charset=utf-8"})


def test_retry_after_reads_seconds_and_http_dates_against_the_servers_date() -> None:
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(" 0 ") == 0.0
    # RFC 9110 §10.2.3: an HTTP-date, measured against the response's own Date
    assert retry_after_seconds("Wed, 04 Nov 2026 07:29:00 GMT", date="Wed, 04 Nov 2026 07:28:00 GMT") == 60.0
    assert retry_after_seconds("Wed, 04 Nov 2026 07:27:00 GMT", date="Wed, 04 Nov 2026 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-03T14:02:11Z", datetime(2026, 11, 3, 14, 2, 11, tzinfo=UTC)),
        ("2026-11-03t14:02:11z", datetime(2026, 11, 3, 14, 2, 11, tzinfo=UTC)),
        ("2026-11-03T15:02:11.123456789+01:00", datetime(2026, 11, 3, 14, 2, 11, 123456, tzinfo=UTC)),
        ("2026-11-03T14:02:11.5Z", datetime(2026, 11, 3, 14, 2, 11, 500000, tzinfo=UTC)),
    ],
)
def test_rfc3339_variants_parse(text: str, expected: datetime) -> None:
    assert parse_api_time(text) == expected


# GitHub ------------------------------------------------------------------------------------------

GITHUB_LOGIN = "octo"


def search_item(number: int, **overrides: Any) -> dict[str, Any]:
    """The required fields of `issue-search-result-item`, with every nullable one null."""
    item: dict[str, Any] = {
        "url": f"https://ghe.example/api/v3/repos/octo/api/issues/{number}",
        "repository_url": "https://ghe.example/api/v3/repos/octo/api",
        "labels_url": "",
        "comments_url": "",
        "events_url": "",
        "html_url": f"https://ghe.example/octo/api/pull/{number}",
        "id": number,
        "node_id": f"PR_{number}",
        "number": number,
        "title": f"Change {number}",
        "user": None,
        "labels": [],
        "state": "closed",
        "locked": False,
        "assignee": None,
        "milestone": None,
        "comments": 0,
        "created_at": "2026-11-01T09:00:00Z",
        "updated_at": "2026-11-03T14:02:11Z",
        "closed_at": "2026-11-03T14:02:11Z",
        "author_association": "NONE",
        "score": 1.0,
        "pull_request": {"url": None, "html_url": None, "diff_url": None, "patch_url": None},
    }
    item.update(overrides)
    return item


def test_github_minimal_item_maps_with_nulls_and_without_merged_at() -> None:
    activity = pull_request_activity(search_item(7))
    assert activity is not None
    # merged_at is optional in the spec: closed_at stands in (the query asks for merged PRs only)
    assert activity.occurred_at == datetime(2026, 11, 3, 14, 2, 11, tzinfo=UTC)
    assert (activity.id, activity.repo, activity.title) == ("github:pr:octo/api#7", "octo/api", "Change 7")
    assert (activity.body, activity.author, activity.labels) == ("", "", ())
    assert activity.url == "https://ghe.example/octo/api/pull/7"
    assert "draft" not in activity.extra


def test_github_null_merged_at_means_not_merged_and_odd_labels_are_skipped() -> None:
    item = search_item(8, pull_request={"url": None, "html_url": None, "diff_url": None, "patch_url": None})
    item["pull_request"]["merged_at"] = None
    assert pull_request_activity(item) is None
    labelled = search_item(9, labels=[{"id": 1}, {"name": "bug", "description": None}], body=None, draft=False)
    activity = pull_request_activity(labelled)
    assert activity is not None and activity.labels == ("bug",) and activity.extra["draft"] is False


def test_github_rate_limit_is_read_from_headers_not_wording() -> None:
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    reset = str(int(now.timestamp()) + 30)
    primary = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    assert rate_limit_wait(403, primary, "quota used up", 60.0, now=now) == 31.0
    assert rate_limit_wait(403, {}, "Secondary rate limit hit, slow down", 60.0) == 60.0
    assert rate_limit_wait(403, {}, "Resource not accessible by integration", 60.0) is None
    assert rate_limit_wait(429, {}, None, 60.0) == 60.0
    assert rate_limit_wait(403, {}, "", 60.0, retry_after=3.0) == 3.0


class GitHubStub:
    """A GitHub-compatible search that ignores per_page (serves `page_size`) and sends no Link header."""

    def __init__(self, server: SandboxServer, items: list[dict[str, Any]], page_size: int = 30) -> None:
        self.items = items
        self.page_size = page_size
        server.route("GET", r"/search/issues", self.search)

    def search(self, request: Request, _match: Match[str]) -> Response:
        page = int(request.param("page", "1") or 1)
        chunk = self.items[(page - 1) * self.page_size : page * self.page_size]
        return Response(200, {"total_count": len(self.items), "incomplete_results": False, "items": chunk})


def github_connector(server: SandboxServer, **options: Any) -> GitHubConnector:
    options.setdefault("max_rate_limit_wait", 5)
    return GitHubConnector(
        "ghp_test", base_url=server.base_url, login=GITHUB_LOGIN, reviews=False, backoff_factor=0, **options
    )


def github_harvest(connector: GitHubConnector) -> list[Batch]:
    return list(read_all(connector, WINDOW))


def searched_pages(server: SandboxServer) -> list[str | None]:
    return [(r.query.get("page") or [None])[0] for r in server.requests if r.path == "/search/issues"]


def test_github_pages_without_link_header_and_smaller_than_asked(server: SandboxServer) -> None:
    GitHubStub(server, [search_item(n) for n in range(1, 71)], page_size=30)

    batches = github_harvest(github_connector(server))

    assert searched_pages(server) == [None, "2", "3"]
    assert [r.query["per_page"] for r in server.requests] == [["100"]] * 3
    assert [a.extra["number"] for a in records(batches)] == list(range(1, 71))
    assert [b.checkpoint is not None for b in batches] == [False, False, True]


def test_github_total_that_fills_whole_pages_needs_no_extra_request(server: SandboxServer) -> None:
    GitHubStub(server, [search_item(n) for n in range(1, 201)], page_size=100)

    assert len(records(github_harvest(github_connector(server)))) == 200
    assert searched_pages(server) == [None, "2"]


def test_github_401_with_another_message_is_an_auth_error(server: SandboxServer) -> None:
    server.inject(401, body={"message": "Requires authentication", "documentation_url": "https://docs"})
    with pytest.raises(SourceAuthError, match="401 Requires authentication") as raised:
        github_harvest(github_connector(server))
    assert "token" in raised.value.fix
    assert len(server.requests) == 1


def test_github_401_with_an_html_body_is_an_auth_error(server: SandboxServer) -> None:
    server.route("GET", r"/search/issues", lambda _r, _m: html(401))
    with pytest.raises(SourceAuthError, match="401"):
        github_harvest(github_connector(server))
    assert len(server.requests) == 1


def test_github_secondary_limit_with_lower_case_retry_after_is_retried(server: SandboxServer) -> None:
    GitHubStub(server, [search_item(1)])
    server.inject(403, headers={"retry-after": "0"}, body={"message": "You are being throttled."})

    assert len(records(github_harvest(github_connector(server)))) == 1
    assert [r.status for r in server.requests] == [403, 200]


def test_github_primary_limit_told_only_by_headers_is_a_rate_limit(server: SandboxServer) -> None:
    GitHubStub(server, [search_item(1)])
    reset = str(int(time.time()) + 3600)
    server.inject(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, body={"message": "Quota exhausted"}
    )
    with pytest.raises(RateLimitError, match="more than the 5 s") as raised:
        github_harvest(github_connector(server))
    assert raised.value.wait_seconds is not None and raised.value.wait_seconds > 3500
    assert len(server.requests) == 1


def test_github_secondary_limit_without_headers_is_not_an_auth_error(server: SandboxServer) -> None:
    server.inject(403, body={"message": "Secondary rate limit triggered"})
    # GitHub documents waiting at least a minute: more than this connector may wait
    with pytest.raises(RateLimitError):
        github_harvest(github_connector(server))
    assert len(server.requests) == 1


def test_github_429_with_http_date_retry_after(server: SandboxServer) -> None:
    GitHubStub(server, [search_item(1)])
    server.inject(429, headers={"Retry-After": http_date()}, body={"message": "slow down"})

    assert len(records(github_harvest(github_connector(server)))) == 1
    assert [r.status for r in server.requests] == [429, 200]


def test_github_429_with_a_distant_http_date_is_bounded(server: SandboxServer) -> None:
    server.inject(429, headers={"Retry-After": http_date(3600)}, body={"message": "slow down"})
    with pytest.raises(RateLimitError) as raised:
        github_harvest(github_connector(server))
    assert raised.value.wait_seconds is not None and 3590 < raised.value.wait_seconds <= 3600
    assert len(server.requests) == 1


def test_github_unreadable_retry_after_falls_back_to_backoff(server: SandboxServer) -> None:
    GitHubStub(server, [search_item(1)])
    # urllib3 alone raises InvalidHeader on this
    server.inject(503, headers={"Retry-After": "in a moment"}, body=b"<html>busy</html>")

    assert len(records(github_harvest(github_connector(server)))) == 1
    assert [r.status for r in server.requests] == [503, 200]


def test_github_server_errors_are_retried_then_transient(server: SandboxServer) -> None:
    server.inject(502, times=100, body=b"<html>Bad gateway</html>")
    with pytest.raises(TransientError, match="kept failing"):
        github_harvest(github_connector(server))
    assert len(server.requests) == 6


# Jira --------------------------------------------------------------------------------------------


def minimal_issue(key: str, **fields: Any) -> dict[str, Any]:
    self_url = f"https://jira.example/rest/api/2/issue/{key}"
    return {"id": key.split("-")[1], "key": key, "self": self_url, "fields": fields}


ME = {"name": "dev", "key": "dev", "displayName": "Dana Dev", "timeZone": "Europe/Berlin"}


def test_jira_minimal_issue_with_nulls_maps() -> None:
    issue = minimal_issue(
        "OPS-1",
        summary="Rotate keys",
        resolution=None,
        priority=None,
        statuscategorychangedate="2026-11-03T14:02:11+0100",
    )
    activity = ticket_activity(issue, server="https://jira.example", me=ME)
    assert activity is not None
    # no resolutiondate, no changelog: the status category change dates it; no millis in the stamp
    assert activity.occurred_at == datetime(2026, 11, 3, 13, 2, 11, tzinfo=UTC)
    assert (activity.id, activity.title, activity.body, activity.labels) == ("jira:OPS-1", "Rotate keys", "", ())
    assert activity.url == "https://jira.example/browse/OPS-1"
    assert activity.extra["resolution"] is None and activity.extra["priority"] is None
    assert activity.extra["status"] is None and activity.extra["project"] is None


def test_jira_issue_without_fields_or_any_finish_time_is_skipped() -> None:
    assert ticket_activity({"id": "1", "key": "OPS-2"}, server="https://jira.example", me=ME) is None


@pytest.mark.parametrize(
    "text",
    ["2026-11-03T14:02:11.000+0100", "2026-11-03T14:02:11+0100", "2026-11-03T14:02:11.000+01:00"],
)
def test_jira_timestamps_with_and_without_millis(text: str) -> None:
    assert parse_jira_time(text) == datetime(2026, 11, 3, 14, 2, 11, tzinfo=timezone(timedelta(hours=1)))


def test_jira_custom_fields_found_without_clause_names() -> None:
    fields = [
        {"id": "summary", "name": "Summary"},
        {"id": "customfield_10002", "name": "Story Points", "custom": True},
        {"id": "customfield_10008", "name": "Epic Link", "custom": True},
    ]
    assert custom_field_ids(fields) == {"story_points": "customfield_10002", "epic": "customfield_10008"}


class JiraStub:
    """A Jira Server/DC or Cloud with a server-side page cap, no `total`, and /field without clauseNames."""

    def __init__(self, server: SandboxServer, issues: list[dict[str, Any]], *, cloud: bool, cap: int) -> None:
        self.issues = issues
        self.cap = cap
        deployment = "Cloud" if cloud else "Server"
        info = {"baseUrl": server.base_url, "version": "9.12.0", "versionNumbers": [9, 12, 0]}
        info["deploymentType"] = deployment
        server.route("GET", r"/rest/api/2/serverInfo", lambda _r, _m: Response(200, info))
        server.route("GET", r"/rest/api/2/myself", lambda _r, _m: Response(200, ME))
        fields = [
            {"id": "summary", "name": "Summary"},
            {"id": "resolutiondate", "name": "Resolved"},
            {"id": "customfield_10002", "name": "Story Points", "custom": True},
        ]
        server.route("GET", r"/rest/api/2/field", lambda _r, _m: Response(200, fields))
        server.route("GET", r"/rest/api/2/search", self.search)
        server.route("GET", r"/rest/api/3/search/jql", self.search_jql)

    def matching(self, request: Request) -> list[dict[str, Any]]:
        # the connector's one search (both questions OR-ed) finds every ticket
        return self.issues

    def search(self, request: Request, _match: Match[str]) -> Response:
        start = int(request.param("startAt") or 0)
        size = min(int(request.param("maxResults") or 50), self.cap)
        page = self.matching(request)[start : start + size]
        # no `total`: Data Center may leave it out, and it is absent from Cloud's enhanced search
        return Response(200, {"startAt": start, "maxResults": size, "issues": page})

    def search_jql(self, request: Request, _match: Match[str]) -> Response:
        start = int(request.param("nextPageToken") or 0)
        matching = self.matching(request)
        body: dict[str, Any] = {"issues": matching[start : start + self.cap]}
        if start + self.cap < len(matching):
            body["nextPageToken"] = str(start + self.cap)  # no isLast, and no token on the last page
        return Response(200, body)


def resolved_issue(number: int) -> dict[str, Any]:
    return minimal_issue(
        f"OPS-{number}",
        summary=f"Ticket {number}",
        resolution={"name": "Done"},
        resolutiondate=f"2026-11-03T14:{number % 60:02d}:11.000+0100",
        customfield_10002=3,
    )


def jira_harvest(connector: JiraConnector) -> list[Batch]:
    return list(read_all(connector, WINDOW))


def paths(server: SandboxServer) -> list[str]:
    return [r.path for r in server.requests]


def test_jira_server_short_pages_without_total(server: SandboxServer) -> None:
    JiraStub(server, [resolved_issue(n) for n in range(1, 91)], cloud=False, cap=40)
    connector = JiraConnector(server.base_url, pat="pat-token", sleep=lambda _s: None)

    found = records(jira_harvest(connector))

    assert [a.id for a in found] == [f"jira:OPS-{n}" for n in range(1, 91)]
    assert found[0].extra["story_points"] == 3
    search = "/rest/api/2/search"
    # 40 + 40 + 10: the short page ends it
    assert paths(server) == ["/rest/api/2/serverInfo", "/rest/api/2/myself", "/rest/api/2/field"] + [search] * 3
    starts = [r.query["startAt"] for r in server.requests if r.path == search]
    assert starts == [["0"], ["40"], ["80"]]
    sent = next(r for r in server.requests if r.path == search).query["fields"]
    assert "customfield_10002" in sent


def test_jira_cloud_pages_smaller_than_asked_without_islast(server: SandboxServer) -> None:
    JiraStub(server, [resolved_issue(n) for n in range(1, 61)], cloud=True, cap=25)
    connector = JiraConnector(server.base_url, email="me@acme.example", token="t" * 24, sleep=lambda _s: None)

    found = records(jira_harvest(connector))

    assert len(found) == 60
    jql = "/rest/api/3/search/jql"
    assert paths(server).count(jql) == 3
    assert server.count("/field") == 1
    tokens = [(r.query.get("nextPageToken") or [None])[0] for r in server.requests if r.path == jql]
    assert tokens == [None, "25", "50"]


def test_jira_401_with_html_body_is_an_auth_error(server: SandboxServer) -> None:
    JiraStub(server, [], cloud=False, cap=50)
    server.inject(401, body=HTML_401, headers={"Content-Type": "text/html"}, path_contains="/myself")
    with pytest.raises(SourceAuthError, match="personal access token was refused") as raised:
        jira_harvest(JiraConnector(server.base_url, pat="pat-token", sleep=lambda _s: None))
    assert "Personal Access Tokens" in raised.value.fix
    assert paths(server) == ["/rest/api/2/serverInfo", "/rest/api/2/myself"]


def test_jira_429_with_http_date_retry_after(server: SandboxServer) -> None:
    JiraStub(server, [resolved_issue(1)], cloud=False, cap=50)
    server.inject(429, headers={"Retry-After": http_date(7)}, path_contains="/search")
    sleeps: list[float] = []

    found = records(jira_harvest(JiraConnector(server.base_url, pat="pat-token", sleep=sleeps.append)))

    assert len(found) == 1
    assert len(sleeps) == 1 and 5.0 <= sleeps[0] <= 7.0
    assert server.count("/search") == 2


def test_jira_server_errors_are_retried_then_transient(server: SandboxServer) -> None:
    JiraStub(server, [], cloud=False, cap=50)
    server.inject(503, times=100, body=b"<html>maintenance</html>", path_contains="/myself")
    with pytest.raises(TransientError, match="server error 503"):
        jira_harvest(JiraConnector(server.base_url, pat="pat-token", sleep=lambda _s: None))
    assert server.count("/myself") == 5


# Google Calendar ---------------------------------------------------------------------------------


def event(event_id: str, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": event_id,
        "status": "confirmed",
        "summary": f"Meeting {event_id}",
        "start": {"dateTime": "2026-11-03T10:00:00+01:00"},
        "end": {"dateTime": "2026-11-03T11:00:00+01:00"},
        "organizer": {"self": True},
    }
    item.update(overrides)
    return item


def test_calendar_minimal_event_without_attendees_or_conference() -> None:
    activity = event_activity(event("a"), "primary")
    assert activity is not None
    assert activity.occurred_at == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert activity.url == ""
    assert dict(activity.extra) == {
        "calendar": "primary",
        "event_id": "a",
        "start": "2026-11-03T10:00:00+01:00",
        "duration_minutes": 60,
        "organized": True,
        "attendee_count": 0,
        "recurring": False,
        "conference": None,
    }


def test_calendar_wall_time_with_a_separate_time_zone() -> None:
    item = event(
        "b",
        start={"dateTime": "2026-11-03T10:00:00", "timeZone": "America/New_York"},
        end={"dateTime": "2026-11-03T10:30:00", "timeZone": "America/New_York"},
    )
    activity = event_activity(item, "primary")
    assert activity is not None and activity.occurred_at == datetime(2026, 11, 3, 15, 30, tzinfo=UTC)
    # no timeZone on the event: the calendar's (the list's timeZone) reads it
    bare = event("c", start={"dateTime": "2026-11-03T10:00:00"}, end={"dateTime": "2026-11-03T10:30:00"})
    mapped = event_activity(bare, "primary", zone=ZoneInfo("Europe/Berlin"))
    assert mapped is not None and mapped.occurred_at == datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def test_calendar_fractional_seconds_and_lower_case_z() -> None:
    item = event("d", start={"dateTime": "2026-11-03T10:00:00.250z"}, end={"dateTime": "2026-11-03T10:45:00.250z"})
    activity = event_activity(item, "primary")
    assert activity is not None and activity.extra["duration_minutes"] == 45


def test_calendar_organizer_without_self_but_attendee_entry_says_organizer() -> None:
    item = event(
        "e",
        organizer={"email": "me@example.com"},
        attendees=[{"self": True, "organizer": True, "responseStatus": "accepted"}, {"responseStatus": "needsAction"}],
    )
    activity = event_activity(item, "primary")
    assert activity is not None and activity.extra["organized"] is True and activity.extra["attendee_count"] == 2
    someone_elses = event("f", organizer={"email": "boss@example.com"}, attendees=[{"responseStatus": "accepted"}])
    assert event_activity(someone_elses, "primary") is None


def test_calendar_all_day_event_has_date_not_datetime() -> None:
    assert event_activity(event("g", start={"date": "2026-11-03"}, end={"date": "2026-11-04"}), "primary") is None


EVENTS = "/calendar/v3/calendars/primary/events"


class CalendarStub:
    """events.list serving `pages` as given: smaller than asked, an empty non-last page; the last with nextSyncToken."""

    def __init__(self, server: SandboxServer, pages: list[list[dict[str, Any]]], *, sync_token: bool = True) -> None:
        self.pages = pages
        self.sync_token = sync_token
        server.route("GET", EVENTS, self.list)
        server.route("POST", r"/token", lambda _r, _m: Response(400, {"error": "invalid_grant"}))

    def list(self, request: Request, _match: Match[str]) -> Response:
        index = int(request.param("pageToken") or 0)
        body: dict[str, Any] = {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": self.pages[index]}
        if index + 1 < len(self.pages):
            body["nextPageToken"] = str(index + 1)
        elif self.sync_token:
            body["nextSyncToken"] = "sync-1"
        return Response(200, body)


def calendar_connector(server: SandboxServer, tmp_path: Path, sleeps: list[float]) -> GoogleCalendarConnector:
    token_file = tmp_path / "google-token.json"
    info = {
        "token": "ya29.test",
        "refresh_token": "1//refresh",
        "token_uri": f"{server.base_url}/token",
        "client_id": "client",
        "client_secret": "secret",
        "expiry": "2999-01-01T00:00:00Z",
    }
    token_file.write_text(json.dumps(info))
    return GoogleCalendarConnector(
        token_file, api_endpoint=f"{server.base_url}/calendar/v3/", backoff_factor=0, sleep=sleeps.append
    )


def test_calendar_short_and_empty_pages(server: SandboxServer, tmp_path: Path) -> None:
    wall = {"start": {"dateTime": "2026-11-04T09:00:00"}, "end": {"dateTime": "2026-11-04T09:30:00"}}
    CalendarStub(server, [[event("a"), event("b")], [], [event("c", **wall)]])
    connector = calendar_connector(server, tmp_path, [])

    batches = list(read_all(connector, WINDOW))

    found = {a.extra["event_id"]: a.occurred_at for a in records(batches)}
    assert found == {
        "a": datetime(2026, 11, 3, 10, tzinfo=UTC),
        "b": datetime(2026, 11, 3, 10, tzinfo=UTC),
        # a wall time without offset or timeZone is read in the calendar's zone (Europe/Berlin)
        "c": datetime(2026, 11, 4, 8, 30, tzinfo=UTC),
    }
    assert [(r.query.get("pageToken") or [None])[0] for r in server.requests] == [None, "1", "2"]
    cursor = batches[-1].checkpoint
    assert cursor is not None and cursor.state["sync_token"] == "sync-1"


def test_calendar_last_page_without_sync_token_is_not_the_end(server: SandboxServer, tmp_path: Path) -> None:
    """The last page carries nextSyncToken (documented): a page with neither token is not read as the end."""
    CalendarStub(server, [[event("a")]], sync_token=False)
    sleeps: list[float] = []
    connector = calendar_connector(server, tmp_path, sleeps)
    batches: list[Batch] = []
    with pytest.raises(TransientError) as caught:
        batches.extend(read_all(connector, WINDOW))
    assert "neither nextPageToken nor nextSyncToken, 6 times in a row" in str(caught.value)
    assert len(server.requests) == 6 and len(sleeps) == 5
    assert all(batch.checkpoint is None for batch in batches)


def test_calendar_rate_limit_reason_with_http_date_retry_after(server: SandboxServer, tmp_path: Path) -> None:
    CalendarStub(server, [[event("a")]])
    body = {
        "error": {
            "code": 403,
            "message": "Rate Limit Exceeded",
            "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "Rate Limit Exceeded"}],
        }
    }
    server.inject(403, headers={"Retry-After": http_date(4)}, body=body)
    sleeps: list[float] = []

    assert len(records(list(read_all(calendar_connector(server, tmp_path, sleeps), WINDOW)))) == 1
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 4.0
    assert [r.status for r in server.requests] == [403, 200]


def test_calendar_quota_exceeded_is_a_rate_limit_not_retried(server: SandboxServer, tmp_path: Path) -> None:
    CalendarStub(server, [[event("a")]])
    errors = [{"domain": "usageLimits", "reason": "quotaExceeded"}]
    body = {"error": {"code": 403, "message": "Calendar usage limits exceeded.", "errors": errors}}
    server.inject(403, body=body)
    with pytest.raises(RateLimitError, match="quotaExceeded"):
        list(read_all(calendar_connector(server, tmp_path, []), WINDOW))
    assert len(server.requests) == 1


def test_calendar_401_html_then_refused_refresh_is_an_auth_error(server: SandboxServer, tmp_path: Path) -> None:
    CalendarStub(server, [[event("a")]])
    server.inject(401, body=HTML_401, headers={"Content-Type": "text/html"}, path_contains="/events")
    with pytest.raises(SourceAuthError, match="invalid_grant") as raised:
        list(read_all(calendar_connector(server, tmp_path, []), WINDOW))
    assert "brag auth google" in raised.value.fix
    assert [(r.method, r.path) for r in server.requests] == [("GET", EVENTS), ("POST", "/token")]


def test_calendar_server_errors_are_retried_then_transient(server: SandboxServer, tmp_path: Path) -> None:
    CalendarStub(server, [[event("a")]])
    server.inject(500, times=100, body=b"<html>oops</html>")
    sleeps: list[float] = []
    with pytest.raises(TransientError, match="server error 500"):
        list(read_all(calendar_connector(server, tmp_path, sleeps), WINDOW))
    assert len(server.requests) == 6 and len(sleeps) == 5
