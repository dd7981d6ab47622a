"""The GitHub connector with the real PyGithub against the sandbox: requests made and records produced."""

from __future__ import annotations

import itertools
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streams_support import checkpoints, read_all, read_streams
from support import NOW

from connectors.github.connector import REVIEW_SPAN_MAX, GitHubConnector, pull_request_query, split_window
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.errors import RateLimitError, SourceAuthError, SourceConfigError, TransientError
from harvester.records import Activity
from harvester.sandbox.scenario import USER_LOGIN, Scenario
from harvester.sources import Batch, Cursor
from harvester.timeutil import Window


def harvest(connector: GitHubConnector, window: Window, cursor: Cursor | None = None) -> list[Batch]:
    return list(read_all(connector, window, cursor))


def activities(batches: list[Batch]) -> list[Activity]:
    return [activity for batch in batches for activity in batch.activities]


def searches(server: GitHubSandbox) -> list[dict[str, list[str]]]:
    return [dict(r.query) for r in server.requests if r.path == "/search/issues"]


def last_weeks(weeks: int = 4) -> Window:
    return Window(NOW - timedelta(weeks=weeks), NOW)


def test_first_run_requests_and_records(github: GitHubSandbox, scenario: Scenario) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False)
    batches = harvest(connector, last_weeks())

    assert [(r.method, r.path) for r in github.requests] == [("GET", "/user"), ("GET", "/search/issues")]
    (query,) = searches(github)
    assert query["q"] == [f"is:pr is:merged author:{USER_LOGIN} merged:2026-10-23T12:00:00Z..2026-11-20T11:59:59Z"]
    assert query["per_page"] == ["100"]
    assert query["sort"] == ["created"] and query["order"] == ["asc"]

    records = activities(batches)
    expected = {
        f"github:pr:{pr.repo}#{pr.number}"
        for pr in scenario.pull_requests
        if pr.author == USER_LOGIN and pr.merged_at and last_weeks().contains(pr.merged_at)
    }
    assert {r.id for r in records} == expected
    assert len(records) == 9
    webhook = next(r for r in records if "webhook deliveries" in r.title)
    assert webhook.kind == "pull_request" and webhook.source == "github"
    assert webhook.repo == "acme/payments-api"
    assert webhook.url == f"https://github.com/acme/payments-api/pull/{webhook.extra['number']}"
    assert webhook.labels == ("enhancement",)
    assert webhook.author == USER_LOGIN
    assert "p99" not in webhook.body and "2.1%" in webhook.body
    assert webhook.occurred_at.tzinfo is not None
    assert batches[-1].checkpoint == Cursor(NOW)


def test_record_serialises_to_the_public_format(connector: GitHubConnector) -> None:
    record = activities(harvest(connector, last_weeks()))[0]
    data = record.to_json()
    assert list(data) == [
        "id",
        "source",
        "kind",
        "title",
        "body",
        "url",
        "occurred_at",
        "repo",
        "paths",
        "labels",
        "author",
        "extra",
        "subject_title",
        "subject_url",
    ]
    assert Activity.from_json(data) == record


def test_reviews_given_come_from_one_graphql_request(github: GitHubSandbox, connector: GitHubConnector) -> None:
    records = activities(harvest(connector, last_weeks()))
    reviews = [r for r in records if r.kind == "review"]
    assert len(reviews) == 6
    assert github.count("/graphql") == 1
    review = reviews[0]
    assert review.id.startswith("github:review:acme/")
    assert review.title.startswith("Reviewed: ")
    assert review.extra["pull_request_author"] != USER_LOGIN
    # what the review is about reaches clustering as the record's subject, not through its wording
    assert review.subject_title and review.title == f"Reviewed: {review.subject_title}"
    assert review.subject_url == review.extra["pull_request_url"]
    assert review.url.startswith(review.subject_url)
    assert review.extra["state"] in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"}


def test_configured_login_skips_get_user(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, login=USER_LOGIN, reviews=False)
    harvest(connector, last_weeks())
    assert github.count("/user") == 0
    assert github.count("/search/issues") == 1


def test_resume_from_cursor_reads_only_the_new_window(github: GitHubSandbox, connector: GitHubConnector) -> None:
    first = harvest(connector, Window(NOW - timedelta(weeks=4), NOW - timedelta(weeks=1)))
    github.clear_log()
    second = harvest(connector, Window(NOW - timedelta(weeks=1, hours=1), NOW), cursor=first[-1].checkpoint)
    (query,) = searches(github)
    assert "merged:2026-11-13T11:00:00Z..2026-11-20T11:59:59Z" in query["q"][0]
    new_ids = {a.id for a in activities(second) if a.kind == "pull_request"}
    old_ids = {a.id for a in activities(first) if a.kind == "pull_request"}
    assert new_ids and not new_ids & old_ids


def test_overlap_reads_the_boundary_item_again(github: GitHubSandbox, scenario: Scenario) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False)
    merged = sorted(pr.merged_at for pr in scenario.pull_requests if pr.author == USER_LOGIN and pr.merged_at)
    boundary = merged[3]
    before = activities(harvest(connector, Window(boundary - timedelta(days=3), boundary + timedelta(minutes=1))))
    after = activities(harvest(connector, Window(boundary - timedelta(minutes=30), NOW)))
    overlap = {a.id for a in before} & {a.id for a in after}
    assert len(overlap) == 1


def test_window_bounds_are_half_open(github: GitHubSandbox, scenario: Scenario) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False)
    merged_at = next(pr.merged_at for pr in scenario.pull_requests if pr.author == USER_LOGIN and pr.merged_at)
    assert merged_at is not None
    ending_there = activities(harvest(connector, Window(merged_at - timedelta(days=1), merged_at)))
    starting_there = activities(harvest(connector, Window(merged_at, merged_at + timedelta(seconds=1))))
    assert all(a.occurred_at < merged_at for a in ending_there)
    assert [a.occurred_at for a in starting_there] == [merged_at]


def test_empty_window_makes_no_request(github: GitHubSandbox, connector: GitHubConnector) -> None:
    assert harvest(connector, Window(NOW, NOW)) == []
    assert github.requests == []


def test_window_without_results_still_checkpoints(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False)
    window = Window(NOW - timedelta(weeks=30), NOW - timedelta(weeks=29))
    batches = harvest(connector, window)
    assert activities(batches) == []
    assert batches[-1].checkpoint == Cursor(window.end)
    assert github.count("/search/issues") == 1


@pytest.mark.parametrize("count", [0, 10, 100, 250, 1000])
def test_pages_of_100(count: int) -> None:
    start = NOW - timedelta(days=30)
    with GitHubSandbox(Scenario.bulk(count, start, NOW)) as server:
        connector = GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url, reviews=False)
        records = activities(harvest(connector, Window(start, NOW)))
        assert len(records) == count
        assert server.count("/search/issues") == max(1, math.ceil(count / 100))
        assert [q.get("page") for q in searches(server)] == [None] + [
            [str(p)] for p in range(2, math.ceil(count / 100) + 1)
        ]


def test_more_than_1000_results_split_the_window() -> None:
    start = NOW - timedelta(days=30)
    with GitHubSandbox(Scenario.bulk(2500, start, NOW)) as server:
        connector = GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url, reviews=False)
        batches = harvest(connector, Window(start, NOW))
        records = activities(batches)
        assert len(records) == len({r.id for r in records}) == 2500
        assert all(len(q["q"][0]) <= 256 for q in searches(server))
        # one probe of the whole window, then ceil(2500/800) = 4 windows of about 625 (7 pages each)
        assert server.count("/search/issues") == 1 + 4 * 7
        checkpoints = [b.checkpoint.harvested_until for b in batches if b.checkpoint and b.checkpoint.harvested_until]
        assert checkpoints == sorted(checkpoints) and checkpoints[-1] == NOW and len(checkpoints) == 4


def test_split_window_covers_it_exactly() -> None:
    window = Window(NOW - timedelta(days=7, microseconds=5), NOW)
    parts = split_window(window, 3)
    assert parts[0].start == window.start and parts[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))


def test_query_bounds_are_whole_seconds() -> None:
    window = Window(datetime(2026, 11, 1, 0, 0, 0, 500, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert pull_request_query("me", window).endswith("merged:2026-11-01T00:00:01Z..2026-11-01T23:59:59Z")


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limit_with_retry_after_then_success(
    github: GitHubSandbox, connector: GitHubConnector, status: int
) -> None:
    github.inject(
        status,
        headers={"Retry-After": "1", "X-RateLimit-Remaining": "0"},
        body={"message": "You have exceeded a secondary rate limit."},
        path_contains="/search",
    )
    records = activities(harvest(connector, last_weeks()))
    assert len([r for r in records if r.kind == "pull_request"]) == 9
    assert [r.status for r in github.requests if r.path == "/search/issues"] == [status, 200]


def test_primary_rate_limit_waits_for_reset(github: GitHubSandbox, connector: GitHubConnector) -> None:
    reset = int(datetime.now(UTC).timestamp()) + 1
    github.inject(
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        body={"message": "API rate limit exceeded for user ID 1."},
        path_contains="/search",
    )
    assert len(activities(harvest(connector, last_weeks()))) == 15
    assert github.count("/search/issues") == 2


def test_rate_limit_longer_than_allowed_is_explained(github: GitHubSandbox, connector: GitHubConnector) -> None:
    github.inject(429, headers={"Retry-After": "3600"}, path_contains="/search")
    with pytest.raises(RateLimitError) as caught:
        harvest(connector, last_weeks())
    assert "github" in str(caught.value) and "3600" in str(caught.value)
    assert "max_rate_limit_wait" in str(caught.value)
    assert github.count("/search/issues") == 1


def test_server_errors_are_retried(github: GitHubSandbox, connector: GitHubConnector) -> None:
    github.inject(502, times=2, path_contains="/search")
    assert len(activities(harvest(connector, last_weeks()))) == 15
    assert [r.status for r in github.requests if r.path == "/search/issues"] == [502, 502, 200]


def test_the_pacer_is_called_before_every_search_request_and_no_other(github: GitHubSandbox) -> None:
    # each request the search limit counts takes from the pacer, a retried one too
    paced: list[int] = []
    connector = GitHubConnector(
        DEFAULT_TOKEN, base_url=github.base_url, backoff_factor=0.01, pacer=lambda: paced.append(len(github.requests))
    )
    github.inject(502, times=1, path_contains="/search")
    assert len(activities(harvest(connector, last_weeks()))) == 15

    assert [(r.path, r.status) for r in github.requests if r.path != "/graphql"] == [
        ("/user", 200),
        ("/search/issues", 502),
        ("/search/issues", 200),
    ]
    # each call came just before a search request: one request (GET /user) logged, then two
    assert paced == [1, 2]


def test_a_connector_from_settings_takes_a_pacer(github: GitHubSandbox) -> None:
    from connectors.github.settings import GitHubSettings

    paced: list[None] = []
    section = GitHubSettings(token=DEFAULT_TOKEN, base_url=github.base_url, reviews=False)
    harvest(GitHubConnector.from_settings(section, pacer=lambda: paced.append(None)), last_weeks())
    assert len(paced) == github.count("/search/issues") == 1


def test_a_pacer_that_refuses_stops_the_search_before_any_request(github: GitHubSandbox) -> None:
    def spent() -> None:
        raise RateLimitError("github", "the shared budget is spent", wait_seconds=900)

    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False, pacer=spent)
    with pytest.raises(RateLimitError):
        harvest(connector, last_weeks())
    assert github.count("/search/issues") == 0


def test_server_errors_that_persist_are_transient(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, backoff_factor=0.01)
    github.inject(503, times=50, path_contains="/user")
    with pytest.raises(TransientError) as caught:
        harvest(connector, last_weeks())
    assert str(caught.value).startswith("github: ")
    assert github.count("/user") == 6  # the first try and five retries


def test_bad_token_names_github_and_the_fix(github: GitHubSandbox) -> None:
    connector = GitHubConnector("expired-token", base_url=github.base_url)
    with pytest.raises(SourceAuthError) as caught:
        harvest(connector, last_weeks())
    message = str(caught.value)
    assert message.startswith("github: ") and "invalid or expired" in message
    assert "[github] token" in message and "expired-token" not in message
    assert github.count() == 1


def test_wrong_base_url_is_a_config_error(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url + "/nothing-here")
    with pytest.raises(SourceConfigError) as caught:
        harvest(connector, last_weeks())
    assert "base_url" in str(caught.value)


def test_unreachable_server_is_transient() -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url="http://127.0.0.1:9", timeout=2, backoff_factor=0.01)
    with pytest.raises(TransientError) as caught:
        harvest(connector, last_weeks())
    assert "cannot reach http://127.0.0.1:9" in str(caught.value)


def test_enterprise_base_url_prefix(scenario: Scenario) -> None:
    with GitHubSandbox(scenario) as server:
        server._routes = [(m, __import__("re").compile("/api/v3" + p.pattern), h) for m, p, h in server._routes]
        connector = GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url + "/api/v3", reviews=False)
        assert len(activities(harvest(connector, last_weeks()))) == 9
        assert [r.path for r in server.requests] == ["/api/v3/user", "/api/v3/search/issues"]


def test_timeouts_are_retried(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, timeout=1, backoff_factor=0.01, reviews=False)
    github.inject(0, delay=1.5, path_contains="/search")
    assert len(activities(harvest(connector, last_weeks()))) == 9
    # the slow first answer is logged when it is finally written, after the retry succeeded
    deadline = time.monotonic() + 5
    while github.count("/search/issues") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert github.count("/search/issues") == 2


# what GitHub (and GHES) answer for a path they do not serve
NOT_FOUND_BODY = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


@pytest.mark.parametrize("status", [404, 405, 501])
def test_server_without_graphql_still_harvests_pull_requests(github: GitHubSandbox, status: int) -> None:
    """GitHub-compatible servers may have no GraphQL endpoint at all: PRs must still come, and move the cursor."""
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url)
    github.inject(status, body=NOT_FOUND_BODY, path_contains="/graphql")
    batches = harvest(connector, last_weeks())
    records = activities(batches)
    assert {r.kind for r in records} == {"pull_request"} and len(records) == 9
    (note,) = [note for batch in batches for note in batch.notes]
    assert f"answered {status}" in note and "reviews = false" in note
    assert batches[-1].checkpoint == Cursor(NOW)


# GraphQL errors GitHub answers with HTTP 200; PyGithub raises them as 400, or 404 for a lone NOT_FOUND
GRAPHQL_ERRORS = {
    "RATE_LIMITED": {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}],
    },
    "NOT_FOUND": {
        "data": {"user": None},
        "errors": [{"type": "NOT_FOUND", "path": ["user"], "message": "Could not resolve to a User."}],
    },
    "undefinedField": {
        "errors": [
            {
                "path": ["query", "user", "contributionsCollection"],
                "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "contributionsCollection"},
                "message": "Field 'contributionsCollection' doesn't exist on type 'User'",
            }
        ],
    },
}


@pytest.mark.parametrize("kind", sorted(GRAPHQL_ERRORS))
def test_reviews_graphql_error_keeps_the_cursor_and_is_retried_next_run(github: GitHubSandbox, kind: str) -> None:
    """A GraphQL error is not "no GraphQL": PRs are stored and checkpointed, the reviews' cursor stays."""
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url)
    github.inject(200, body=GRAPHQL_ERRORS[kind], path_contains="/graphql")
    streams = read_streams(connector, last_weeks())
    records = activities(streams["pull_requests"])
    assert {r.kind for r in records} == {"pull_request"} and len(records) == 9
    assert checkpoints(streams["pull_requests"])[-1] == Cursor(NOW)
    assert activities(streams["reviews"]) == [] and checkpoints(streams["reviews"]) == []
    (note,) = [note for batch in streams["reviews"] for note in batch.notes]
    assert note.startswith("reviews were not harvested") and kind in note
    assert "next harvest reads this window again" in note and "reviews = false" not in note

    again = read_streams(connector, last_weeks())
    assert len([r for r in activities(again["reviews"]) if r.kind == "review"]) == 6
    assert checkpoints(again["reviews"]) == [Cursor(NOW)]


def test_reviews_checkpoint_each_year_long_span_once_read_to_its_end(github: GitHubSandbox) -> None:
    """The reviews query covers at most a year, read page by page in GraphQL's order, not time's."""
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url)
    window = Window(NOW - REVIEW_SPAN_MAX - timedelta(days=30), NOW)
    streams = read_streams(connector, window)
    assert checkpoints(streams["reviews"]) == [Cursor(window.start + REVIEW_SPAN_MAX), Cursor(NOW)]
    assert github.count("/graphql") == 2 and github.count("/user") == 1


def test_reviews_rate_limited_by_graphql_is_reported_as_a_rate_limit(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url)
    github.inject(200, body=GRAPHQL_ERRORS["RATE_LIMITED"], path_contains="/graphql")
    (note,) = [note for batch in harvest(connector, last_weeks()) for note in batch.notes]
    assert "rate limited" in note


def test_reviews_http_400_is_a_failure_not_a_missing_graphql(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url)
    github.inject(400, body={"message": "Problems parsing JSON"}, path_contains="/graphql")
    streams = read_streams(connector, last_weeks())
    assert checkpoints(streams["reviews"]) == [] and checkpoints(streams["pull_requests"]) == [Cursor(NOW)]
    assert len(activities(streams["pull_requests"])) == 9


def test_reviews_server_errors_after_retries_keep_the_cursor(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, backoff_factor=0)
    github.inject(502, times=100, path_contains="/graphql")
    streams = read_streams(connector, last_weeks())
    assert checkpoints(streams["reviews"]) == [] and checkpoints(streams["pull_requests"]) == [Cursor(NOW)]
    assert len(activities(streams["pull_requests"])) == 9
    (note,) = [note for batch in streams["reviews"] for note in batch.notes]
    assert note.startswith("reviews were not harvested: ") and "kept failing after 5 retries" in note


def test_summary_shows_the_skipped_reviews(tmp_path: Path, github: GitHubSandbox) -> None:
    from typer.testing import CliRunner

    from harvester.cli import app

    config = tmp_path / "brag.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "b.db"}"\n[user]\ntimezone = "UTC"\n'
        f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{github.base_url}"\n'
    )
    github.inject(404, times=5, path_contains="/graphql")
    result = CliRunner().invoke(
        app, ["--config", str(config), "harvest", "--since", "2026-10-23", "--until", "2026-11-20"]
    )
    assert result.exit_code == 0, result.output
    assert "reviews were not harvested" in result.output.replace("\n", " ")


def test_incomplete_search_is_stored_but_read_again_next_time(github: GitHubSandbox) -> None:
    connector = GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, reviews=False)
    github.incomplete_searches = 1
    batches = harvest(connector, last_weeks())
    assert len(activities(batches)) == 9
    assert all(batch.checkpoint is None for batch in batches)
    (note,) = [note for batch in batches for note in batch.notes]
    assert "incomplete_results" in note and "reads this window again" in note
    again = harvest(connector, last_weeks())
    assert again[-1].checkpoint == Cursor(NOW)
