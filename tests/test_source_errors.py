"""The one error table and the one retry policy every connector shares (harvester.sources).

The table's decisions are pure functions of status, headers and body; the policy is tested with
a recorded sleep, never a real one, and against the sandboxes by counting the requests they got.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from streams_support import read_all
from support import NOW

from connectors.github.connector import GitHubConnector, github_errors, reviews_errors
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.connector import GoogleCalendarConnector, google_errors
from connectors.google_calendar.sandbox import GoogleCalendarSandbox, google_error
from connectors.jira.connector import JiraConnector, jira_errors, pat_on_cloud
from connectors.jira.sandbox import DEFAULT_API_TOKEN, JiraSandbox
from harvester.errors import (
    RateLimitError,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    TransientError,
)
from harvester.sandbox.scenario import Scenario
from harvester.sources.http_errors import ErrorTable, HttpFailure, auth, config, failed
from harvester.sources.retry import RetryPolicy, UnreadableAnswer
from harvester.timeutil import Window

CLOCK = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
TABLE = ErrorTable(
    "demo",
    3,
    rules={
        401: auth("the key was refused (401 {message})", fix="set [demo] key"),
        404: config("{base} is not the demo API (404)", fix="set [demo] url"),
    },
    context={"base": "http://demo.example"},
    clock=lambda: CLOCK,
)
LAST_WEEKS = Window(NOW - timedelta(days=28), NOW)


def failure(status: int, headers: dict[str, str] | None = None, **fields: Any) -> HttpFailure:
    return HttpFailure(status, headers, **fields)


# the table -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "retriable", "text"),
    [
        (401, SourceAuthError, False, "demo: the key was refused (401 nope) — set [demo] key"),
        (403, SourceError, False, "demo: unexpected answer 403: nope"),
        (404, SourceConfigError, False, "demo: http://demo.example is not the demo API (404) — set [demo] url"),
        (429, RateLimitError, True, "demo: rate limited (429) and 3 retries did not get through"),
        (500, TransientError, True, "demo: server error 500 after 3 retries"),
        (502, TransientError, True, "demo: server error 502 after 3 retries"),
        (503, TransientError, True, "demo: server error 503 after 3 retries"),
        (504, TransientError, True, "demo: server error 504 after 3 retries"),
        (418, SourceError, False, "demo: unexpected answer 418: nope"),
    ],
)
def test_the_table_decides_by_status(status: int, kind: type[SourceError], retriable: bool, text: str) -> None:
    answer = failure(status, message="nope")
    error = TABLE.error(answer)
    assert type(error) is kind
    assert str(error).startswith(text)
    assert TABLE.retriable(answer) is retriable


def test_501_is_not_retried_it_will_not_pass() -> None:
    assert not TABLE.retriable(failure(501))
    assert isinstance(TABLE.error(failure(501)), TransientError)


def test_extend_adds_rules_and_context_without_changing_the_table() -> None:
    extended = TABLE.extend(
        rules={410: config("gone from {base}: {message}"), 409: failed("conflict on {url}", fix="try later")},
        context={"base": "http://other"},
    )
    conflict = extended.error(failure(409, url="http://other/x"))
    assert type(conflict) is SourceError and str(conflict) == "demo: conflict on http://other/x — try later"
    assert str(extended.error(failure(410, message="moved"))) == "demo: gone from http://other: moved"
    assert "http://other is not the demo API" in str(extended.error(failure(404)))
    assert str(TABLE.error(failure(410, message="moved"))) == "demo: unexpected answer 410: moved"


def test_a_rule_returning_none_falls_through_to_the_default() -> None:
    table = TABLE.extend(
        rules={503: lambda answer: None if answer.message else config("empty 503")("demo", answer, {})}
    )
    assert isinstance(table.error(failure(503, message="busy")), TransientError)
    assert isinstance(table.error(failure(503)), SourceConfigError)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        # an HTTP-date is measured against the answer's own Date, not the local clock (RFC 9110)
        (
            {
                "Retry-After": format_datetime(CLOCK + timedelta(seconds=90), usegmt=True),
                "Date": format_datetime(CLOCK, usegmt=True),
            },
            90.0,
        ),
        # GitHub: epoch seconds, with the remaining count at zero; a second more for the whole-second reset
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(CLOCK.timestamp()) + 30)}, 31.0),
        # Jira Cloud: an ISO 8601 time
        ({"X-RateLimit-Reset": "2026-11-03T12:02:00Z"}, 121.0),
        # the IETF draft: seconds from now
        ({"RateLimit-Reset": "12"}, 12.0),
        ({}, None),
        # requests remain: the reset says when the window turns, not that we must wait for it
        ({"X-RateLimit-Remaining": "4", "X-RateLimit-Reset": str(int(CLOCK.timestamp()) + 30)}, None),
    ],
)
def test_the_wait_a_rate_limit_asks_for(headers: dict[str, str], wait: float | None) -> None:
    assert TABLE.requested_wait(failure(429, headers)) == wait


def test_reset_headers_count_only_for_rate_limits() -> None:
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(CLOCK.timestamp()) + 30)}
    assert TABLE.requested_wait(failure(503, reset)) is None
    assert TABLE.requested_wait(failure(503, {"Retry-After": "3"})) == 3.0


# each source's extensions ---------------------------------------------------------------------------


def test_github_marks_a_403_rate_limit_by_headers_or_wording() -> None:
    table = github_errors("https://api.github.com")
    primary = failure(403, {"X-RateLimit-Remaining": "0"}, message="quota used up")
    secondary = failure(403, message="You have exceeded a secondary rate limit.")
    plain = failure(403, message="Resource not accessible by integration")
    assert table.retriable(primary) and table.retriable(secondary) and not table.retriable(plain)
    # a secondary limit that names no wait means at least a minute (documented)
    assert table.requested_wait(secondary) == 60.0
    assert isinstance(table.error(primary), RateLimitError)
    error = table.error(plain)
    assert type(error) is SourceAuthError and "access denied (403 Resource not accessible" in str(error)
    assert "authorise the token" in error.fix


def test_github_keeps_its_messages() -> None:
    table = github_errors("https://ghe.example/api/v3")
    refused = table.error(failure(401, message="Bad credentials"))
    assert "invalid or expired" in str(refused) and "[github] token" in refused.fix
    assert "401 Requires authentication" in str(table.error(failure(401, message="Requires authentication")))
    assert "[github] base_url" in table.error(failure(404)).fix
    assert str(table.error(failure(502))).startswith("github: https://ghe.example/api/v3 kept failing after 5 retries")
    assert "[github] login" in table.error(failure(422, message="Validation Failed")).fix


def test_github_reviews_tell_missing_graphql_from_graphql_errors() -> None:
    table = reviews_errors(github_errors("https://ghe.example/api/v3"))
    missing = table.error(failure(405, body={"message": "Not Allowed"}))
    assert "answered 405" in str(missing) and "reviews = false" in missing.fix
    limited = table.error(failure(400, body={"errors": [{"type": "RATE_LIMITED", "message": "slow down"}]}))
    assert isinstance(limited, RateLimitError)
    broken = table.error(failure(400, body={"message": "Problems parsing JSON"}))
    assert type(broken) is SourceError and "unexpected answer 400" in str(broken)


def test_jira_cloud_rejecting_a_personal_access_token_is_one_error() -> None:
    error = pat_on_cloud("https://acme.atlassian.net")
    assert isinstance(error, SourceConfigError)
    assert str(error).startswith("jira: https://acme.atlassian.net is Jira Cloud, which does not accept personal")
    assert "[jira] email" in error.fix and "remove [jira] pat" in error.fix
    table = jira_errors("https://acme.atlassian.net", lambda _answer: pat_on_cloud("https://acme.atlassian.net"))
    assert str(table.error(failure(401))) == str(error)


def test_jira_keeps_its_fixes() -> None:
    table = jira_errors("https://jira.example", lambda _answer: None)
    assert "[jira] jql" in table.error(failure(400, message="bad JQL")).fix
    gone = table.error(failure(410, message="CHANGE-2046"))
    assert isinstance(gone, SourceConfigError) and "[jira] server" in gone.fix
    assert "404 on https://jira.example/x" in str(table.error(failure(404, url="https://jira.example/x")))
    assert "CAPTCHA" in table.error(failure(403)).fix


def google_failure(status: int, reason: str) -> HttpFailure:
    body = google_error(status, reason)["error"]
    return HttpFailure(status, message=body["message"], reason=reason, body=body)


def test_google_reads_403_reasons_from_the_error_body() -> None:
    table = google_errors("https://www.googleapis.com/calendar/v3/", "team@group.calendar.google.com")
    per_minute = google_failure(403, "rateLimitExceeded")
    daily = google_failure(403, "dailyLimitExceeded")
    forbidden = google_failure(403, "forbidden")
    assert table.retriable(per_minute) and table.retriable(google_failure(429, "rateLimitExceeded"))
    # a daily quota will not lift within minutes: reported as a rate limit at once, not retried
    assert not table.retriable(daily) and isinstance(table.error(daily), RateLimitError)
    assert "(403 dailyLimitExceeded)" in str(table.error(daily))
    error = table.error(forbidden)
    assert type(error) is SourceAuthError
    assert "access to calendar 'team@group.calendar.google.com' denied (403 forbidden" in str(error)
    assert "brag auth google" in error.fix


# the policy ------------------------------------------------------------------------------------------


class Answers:
    """An operation that raises the given exceptions in turn, then answers; counts its calls."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "answer"


def policy(sleeps: list[float], *, max_wait: float = 60.0, table: ErrorTable = TABLE) -> RetryPolicy:
    return RetryPolicy(
        table,
        service="Demo",
        address="http://demo.example",
        max_wait=max_wait,
        backoff_factor=0.5,
        unreachable=(ConnectionError,),
        html_hint="check [demo] url",
        sleep=sleeps.append,
    )


def test_transient_answers_are_retried_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    answers = Answers(failure(503), failure(502), ConnectionError("refused"))
    assert policy(sleeps).run(answers, "GET /x") == "answer"
    assert answers.calls == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_exactly() -> None:
    sleeps: list[float] = []
    answers = Answers(failure(429, {"Retry-After": "7"}), failure(503, {"Retry-After": "2"}))
    assert policy(sleeps).run(answers, "GET /x") == "answer"
    assert sleeps == [7.0, 2.0]


def test_reset_header_wait_is_bounded_and_honoured() -> None:
    sleeps: list[float] = []
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(CLOCK.timestamp()) + 30)}
    assert policy(sleeps, max_wait=31).run(Answers(failure(429, reset)), "GET /x") == "answer"
    assert sleeps == [31.0]


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "3600"}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(CLOCK.timestamp()) + 3599)}],
)
def test_a_wait_longer_than_the_bound_fails_at_once_with_a_clear_message(headers: dict[str, str]) -> None:
    sleeps: list[float] = []
    answers = Answers(failure(429, headers))
    with pytest.raises(RateLimitError) as caught:
        policy(sleeps, max_wait=300).run(answers, "GET /x")
    assert str(caught.value).startswith(
        "demo: rate limited; Demo asks to wait 3600 s, more than the 300 s allowed by [demo] max_rate_limit_wait"
    )
    assert caught.value.wait_seconds == 3600
    assert answers.calls == 1 and sleeps == []


def test_what_persists_is_classified_after_the_last_retry() -> None:
    sleeps: list[float] = []
    answers = Answers(*[failure(503)] * 10)
    with pytest.raises(TransientError, match="server error 503 after 3 retries"):
        policy(sleeps).run(answers, "GET /x")
    assert answers.calls == 4 and len(sleeps) == 3


def test_an_error_the_user_must_fix_is_not_retried() -> None:
    sleeps: list[float] = []
    answers = Answers(failure(404))
    with pytest.raises(SourceConfigError, match="is not the demo API"):
        policy(sleeps).run(answers, "GET /x")
    assert answers.calls == 1 and sleeps == []


def test_unreadable_answers_are_retried_then_named() -> None:
    sleeps: list[float] = []
    answers = Answers(*[json.JSONDecodeError("Expecting value", "<html><body>login</body></html>", 0)] * 10)
    with pytest.raises(TransientError) as caught:
        policy(sleeps).run(answers, "GET /x")
    assert "http://demo.example answered GET /x with an HTML page instead of JSON, 4 times in a row" in str(
        caught.value
    )
    assert "check [demo] url" in caught.value.fix
    assert answers.calls == 4


def test_unreachable_then_gives_up_naming_the_address() -> None:
    answers = Answers(*[ConnectionError("refused")] * 10)
    with pytest.raises(TransientError, match=r"cannot reach http://demo.example \(ConnectionError\)"):
        policy([]).run(answers, "GET /x")
    assert answers.calls == 4


def test_exceptions_the_policy_does_not_know_pass_through() -> None:
    answers = Answers(UnreadableAnswer("x"), KeyError("a connector's own signal"))
    with pytest.raises(KeyError):
        policy([]).run(answers, "GET /x")
    assert answers.calls == 2


def test_the_client_librarys_exception_is_translated_before_deciding() -> None:
    class ClientError(Exception):
        def __init__(self, status: int) -> None:
            self.status = status

    def translate(exc: BaseException) -> HttpFailure | None:
        return HttpFailure(exc.status, message="from the client") if isinstance(exc, ClientError) else None

    sleeps: list[float] = []
    answers = Answers(ClientError(503), ClientError(401))
    with pytest.raises(SourceAuthError, match="the key was refused \\(401 from the client\\)"):
        RetryPolicy(
            TABLE, service="Demo", address="x", max_wait=60, backoff_factor=1, failure=translate, sleep=sleeps.append
        ).run(answers, "GET /x")
    assert answers.calls == 2 and sleeps == [1.0]


# against the sandboxes -------------------------------------------------------------------------------


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.generate(NOW, weeks=4)


def github_connector(server: GitHubSandbox, sleeps: list[float], **options: Any) -> GitHubConnector:
    return GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url, sleep=sleeps.append, **options)


def test_github_primary_limit_waits_for_the_reset_without_sleeping_for_real(scenario: Scenario) -> None:
    reset = int(datetime.now(UTC).timestamp()) + 40
    sleeps: list[float] = []
    with GitHubSandbox(scenario) as server:
        server.inject(
            403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
            body={"message": "API rate limit exceeded for user ID 1."},
            path_contains="/search",
        )
        batches = read_all(github_connector(server, sleeps, reviews=False), LAST_WEEKS)
        assert len([a for b in batches for a in b.activities]) == 9
        assert [r.status for r in server.requests if r.path == "/search/issues"] == [403, 200]
    (slept,) = sleeps
    assert 39 <= slept <= 42


def test_github_reset_beyond_the_bound_is_a_rate_limit_error(scenario: Scenario) -> None:
    reset = int(datetime.now(UTC).timestamp()) + 3000
    with GitHubSandbox(scenario) as server:
        server.inject(
            403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}, path_contains="/user"
        )
        with pytest.raises(RateLimitError, match=r"\[github\] max_rate_limit_wait"):
            read_all(github_connector(server, [], max_rate_limit_wait=300), LAST_WEEKS)
        assert server.count("/user") == 1


def test_github_secondary_limit_without_a_wait_waits_a_minute(scenario: Scenario) -> None:
    sleeps: list[float] = []
    with GitHubSandbox(scenario) as server:
        server.inject(403, body={"message": "You have triggered an abuse detection mechanism."}, path_contains="/user")
        read_all(github_connector(server, sleeps, reviews=False), LAST_WEEKS)
        assert server.count("/user") == 2
    assert sleeps == [60.0]


def test_jira_cloud_429_reset_time_is_honoured(scenario: Scenario) -> None:
    sleeps: list[float] = []
    reset = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
    with JiraSandbox(scenario, deployment="Cloud") as server:
        server.inject(429, headers={"X-RateLimit-Reset": reset.isoformat()}, path_contains="/search")
        connector = JiraConnector(server.base_url, email=scenario.email, token=DEFAULT_API_TOKEN, sleep=sleeps.append)
        assert len([a for b in read_all(connector, LAST_WEEKS) for a in b.activities]) == 8
        assert [r.status for r in server.requests if "/search" in r.path][:2] == [429, 200]
    (slept,) = sleeps
    assert 18 <= slept <= 21.5


@pytest.fixture
def calendar_connector(
    scenario: Scenario, tmp_path: Path
) -> Iterator[tuple[GoogleCalendarSandbox, Callable[..., GoogleCalendarConnector]]]:
    with GoogleCalendarSandbox(scenario) as server:
        token_file = tmp_path / "google-token.json"
        token_file.write_text(json.dumps(server.authorized_user_info()))

        def make(sleeps: list[float]) -> GoogleCalendarConnector:
            return GoogleCalendarConnector(
                token_file, api_endpoint=server.calendar_url(), backoff_factor=0.5, sleep=sleeps.append
            )

        yield server, make


def test_google_403_rate_limit_reason_is_retried(
    calendar_connector: tuple[GoogleCalendarSandbox, Callable[..., GoogleCalendarConnector]],
) -> None:
    server, make = calendar_connector
    sleeps: list[float] = []
    server.inject(
        403, headers={"Retry-After": "3"}, body=google_error(403, "rateLimitExceeded"), path_contains="/events"
    )
    read_all(make(sleeps), LAST_WEEKS)
    assert server.count("/events") == 2 and sleeps == [3.0]


def test_google_daily_quota_is_reported_not_retried(
    calendar_connector: tuple[GoogleCalendarSandbox, Callable[..., GoogleCalendarConnector]],
) -> None:
    server, make = calendar_connector
    sleeps: list[float] = []
    server.inject(403, body=google_error(403, "dailyLimitExceeded"), path_contains="/events")
    with pytest.raises(RateLimitError, match="dailyLimitExceeded"):
        read_all(make(sleeps), LAST_WEEKS)
    assert server.count("/events") == 1 and sleeps == []


@pytest.mark.parametrize("name", ["harvester.sources.http_errors", "harvester.sources.retry"])
def test_the_kits_public_names_are_declared(name: str) -> None:
    import importlib

    module = importlib.import_module(name)
    defined = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and getattr(value, "__module__", None) == name
        and not isinstance(value, TypeVar)
    }
    assert defined <= set(module.__all__)
    assert all(hasattr(module, attribute) for attribute in module.__all__)
