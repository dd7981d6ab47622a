"""GitHub: the user's merged pull requests (REST search) and the reviews they gave (GraphQL).

API facts this module relies on (docs.github.com/rest/search; PyGithub 2.10 source):
- search answers at most 100 items per page and 1,000 results per query, so windows with more
  results are split by merge time;
- each search item already carries title, body, labels, author, repository_url and
  `pull_request.merged_at`, so no request per pull request is needed;
- reading a PyGithub property that a page did not include makes it fetch the whole issue
  (one GET per item), so records are built from the page's JSON instead.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, TypeVar

import requests
from github import Auth, Github
from github.GithubException import GithubException

from connectors.github.settings import GitHubSettings
from harvester.errors import RateLimitError, SourceAuthError, SourceError, TransientError
from harvester.records import Activity
from harvester.secrets import Secret
from harvester.sources import Batch, Cursor, Shared, Stream
from harvester.sources.http_errors import (
    TRANSIENT_STATUSES,
    ErrorTable,
    HttpFailure,
    Outcome,
    auth,
    config,
    reset_wait,
)
from harvester.sources.retry import (
    RetryPolicy,
    UnreadableAnswer,
    describe_text,
    expect_fields,
    expect_object,
    expect_objects,
)
from harvester.timeutil import Window, parse_api_time, retry_after_seconds, utc_z

log = logging.getLogger(__name__)

T = TypeVar("T")

SOURCE = "github"
SEARCH_PAGE_SIZE = 100
SEARCH_RESULT_CAP = 1000
# aim split windows at 80% of the cap, so an uneven spread of merges rarely needs a second split
SPLIT_TARGET = 800
# sorting by creation keeps pages stable while we read them: created_at never changes
SEARCH_SORT = ("created", "asc")
PULL_REQUEST_QUERY = "is:pr is:merged author:{login} merged:{first}..{last}"
# the search index trails merges by seconds to minutes; re-reading an hour costs no extra request
CURSOR_OVERLAP = timedelta(hours=1)
# contributionsCollection accepts a from..to span of at most one year (documented)
REVIEW_SPAN_MAX = timedelta(days=365)
REVIEWS_PAGE_SIZE = 100
# one stream per record type, each on its own cursor: a reviews failure never holds back the PRs
PULL_REQUESTS_STREAM = "pull_requests"
REVIEWS_STREAM = "reviews"
RETRIES = 5
# a secondary rate limit that names no wait means waiting at least a minute (documented)
SECONDARY_RATE_WAIT = 60.0
# what PyGithub raises for a server it cannot reach or that does not answer in time
UNREACHABLE = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
SCOPES_FIX = "check the token's scopes and, for an organisation with SSO, authorise the token for it"
# what a 5xx is reported as once the retries are used up
KEPT_FAILING = Outcome(TransientError, f"{{base}} kept failing after {RETRIES} retries")
BASE_URL_FIX = "set [github] base_url to https://api.github.com or https://HOST/api/v3"
TOKEN_FIX = (
    "create a new token (read-only: 'repo' or fine-grained 'Pull requests: read') "
    "and set it as [github] token in your configuration"
)

# one GraphQL request returns up to 100 reviews with their times, instead of one REST call per PR
REVIEWS_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!, $first: Int!, $after: String) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      pullRequestReviewContributions(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          occurredAt
          pullRequestReview { databaseId state body url submittedAt comments { totalCount } }
          pullRequest {
            number title url
            author { login }
            repository { nameWithOwner }
            labels(first: 20) { nodes { name } }
          }
        }
      }
    }
  }
}
"""


# words of GitHub's primary, secondary and abuse rate-limit messages
RATE_LIMIT_WORDS = ("rate limit", "abuse detection")
INCOMPLETE_NOTE = (
    "GitHub said the search for {window} timed out on its side (incomplete_results); "
    "what it returned is stored and the next harvest reads this window again"
)
# HTTP statuses of a server with no GraphQL endpoint at all (a GitHub-compatible server; measured:
# the sandbox's router, Gitea and GHES answer a path they do not have with 404 or 405). Only these,
# and only without a GraphQL `errors` list, skip the reviews for good; PyGithub also raises 400/404
# for a GraphQL error answered as HTTP 200 (`graphql_query`, Requester.py:746-751), which is not that.
NO_GRAPHQL_STATUSES = frozenset({404, 405, 410, 501})
# GraphQL error `type`s that mean "wait": GitHub answers HTTP 200 with these (documented)
GRAPHQL_RATE_LIMIT_TYPES = frozenset({"RATE_LIMITED"})
REVIEWS_FAILED_NOTE = (
    "reviews were not harvested: {reason}; the pull requests were stored, and the next harvest reads this window again"
)
BASE_URL_HINT = "check [github] base_url is the API address (https://api.github.com, or https://HOST/api/v3)"
# what the records read from a search item, with its documented JSON type
SEARCH_ITEM_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "number": int,
    "title": str,
    "body": str,
    "labels": list,
    "user": dict,
    "pull_request": dict,
    "repository_url": str,
    "html_url": str,
    "closed_at": str,
    "created_at": str,
    "node_id": str,
    "draft": bool,
}
REVIEW_NODE_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "occurredAt": str,
    "pullRequestReview": dict,
    "pullRequest": dict,
}


class ReviewsUnavailable(SourceError):
    """The server cannot answer the reviews query; the pull requests can still be harvested."""


def rate_limit_wait(
    status: int,
    headers: Mapping[str, str],
    message: object,
    secondary_wait: float,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> float | None:
    """Seconds a 403/429 asks us to wait, or None when the 403 is not a rate limit.

    GitHub documents the rate-limit signals as headers, not messages (docs.github.com, "rate
    limits for the REST API"): 403 or 429 with `retry-after`, or with `x-ratelimit-remaining: 0`
    (wait until `x-ratelimit-reset`); a secondary limit without either means waiting at least a
    minute. PyGithub recognises a 403 only by GitHub's exact message wording, so a message that
    merely mentions a rate limit counts too (GitHub-compatible servers word it differently).
    """
    if retry_after is not None:
        return retry_after
    lower = {str(name).lower(): str(value) for name, value in headers.items()}
    remaining = lower.get("x-ratelimit-remaining", "").strip()
    if remaining == "0":
        reset = reset_wait(lower, now or datetime.now(UTC))
        if reset is not None:
            return reset
    text = str(message or "").lower()
    if status == 429 or remaining == "0" or any(word in text for word in RATE_LIMIT_WORDS):
        return secondary_wait
    return None


def github_rate_limited(failure: HttpFailure) -> bool:
    if failure.status not in (403, 429):
        return False
    retry_after = retry_after_seconds(failure.headers.get("retry-after"), date=failure.headers.get("date"))
    wait = rate_limit_wait(failure.status, failure.headers, failure.message, SECONDARY_RATE_WAIT, retry_after)
    return wait is not None


def github_failure(exc: BaseException) -> HttpFailure | None:
    """A PyGithub error answer as an `HttpFailure`; with `retry=None` every error status raises one."""
    if not isinstance(exc, GithubException):
        return None
    data = exc.data
    message = str(exc.message or (data.get("message") if isinstance(data, dict) else None) or "")
    return HttpFailure(exc.status, exc.headers, message=message, body=data)


def refused_token(failure: HttpFailure) -> SourceError:
    # PyGithub's BadCredentialsException is a 401 with exactly this message (Requester.createException)
    if failure.message == "Bad credentials":
        return SourceAuthError(
            SOURCE, "the token was refused (401 Bad credentials): it is invalid or expired", fix=TOKEN_FIX
        )
    return SourceAuthError(SOURCE, f"the token was refused (401 {failure.message})", fix=TOKEN_FIX)


def github_errors(base_url: str) -> ErrorTable:
    """The shared error table, with GitHub's rate-limit signals and the fixes for its settings."""
    return ErrorTable(
        SOURCE,
        RETRIES,
        rules={
            401: refused_token,
            403: auth("access denied (403 {message})", fix=SCOPES_FIX),
            404: config("{base} does not answer like the GitHub API (404)", fix=BASE_URL_FIX),
            422: config("the search was rejected (422 {message})", fix="check [github] login names an existing user"),
            **dict.fromkeys(TRANSIENT_STATUSES, KEPT_FAILING),
        },
        context={"base": base_url},
        rate_limited=github_rate_limited,
        rate_limit_wait=SECONDARY_RATE_WAIT,
    )


def reviews_errors(errors: ErrorTable) -> ErrorTable:
    """For the reviews query: GraphQL's own errors, and a server that has no GraphQL at all."""
    base = errors.context["base"]

    def reviews_failed(failure: HttpFailure) -> SourceError | None:
        error = graphql_error(failure.body)
        if error is not None or failure.status not in NO_GRAPHQL_STATUSES:
            return error
        return ReviewsUnavailable(
            SOURCE,
            f"reviews were not harvested: the GraphQL API under {base} answered {failure.status}",
            fix="pull requests are harvested as usual; set [github] reviews = false to stop trying",
        )

    # PyGithub raises a GraphQL `errors` answer (HTTP 200) as 400, or 404 for a lone NOT_FOUND
    return errors.extend(rules=dict.fromkeys({400, *NO_GRAPHQL_STATUSES}, reviews_failed))


class GitHubConnector:
    name: ClassVar[str] = SOURCE
    cursor_overlap: ClassVar[timedelta] = CURSOR_OVERLAP

    def __init__(
        self,
        token: Secret | str,
        *,
        base_url: str = "https://api.github.com",
        login: str | None = None,
        reviews: bool = True,
        max_rate_limit_wait: float = 300.0,
        timeout: int = 30,
        backoff_factor: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Callable[[], None] | None = None,
    ) -> None:
        """`pacer`, when given, is called before every search request (each retry too) and returns
        once that request may go: search allows 30 requests a minute per token (documented), and a
        token shared by many jobs needs one budget across them (harvester/queue/budget.py)."""
        self._token = token if isinstance(token, Secret) else Secret(token, key="github.token")
        self.base_url = base_url.rstrip("/")
        self.login = login
        self.reviews = reviews
        self.max_rate_limit_wait = max_rate_limit_wait
        self.timeout = timeout
        self.backoff_factor = backoff_factor
        self._sleep = sleep
        self._pacer = pacer

    @classmethod
    def from_settings(cls, section: GitHubSettings, *, pacer: Callable[[], None] | None = None) -> GitHubConnector:
        if section.token is None:
            from harvester.errors import ConfigError

            raise ConfigError(
                'token is required: a personal access token, e.g. token = "env:GITHUB_TOKEN"', key="github"
            )
        return cls(
            section.token,
            base_url=section.base_url,
            login=section.login,
            reviews=section.reviews,
            max_rate_limit_wait=section.max_rate_limit_wait,
            timeout=section.timeout,
            pacer=pacer,
        )

    def streams(self) -> tuple[Stream, ...]:
        """The merged pull requests and, unless [github] reviews = false, the reviews given."""
        # one client and one GET /user for both streams of a run
        session = Shared(self._session)
        pulls = Stream(PULL_REQUESTS_STREAM, partial(self._pull_request_stream, session), CURSOR_OVERLAP)
        if not self.reviews:
            return (pulls,)
        return (pulls, Stream(REVIEWS_STREAM, partial(self._review_stream, session), CURSOR_OVERLAP))

    def _session(self) -> tuple[Github, str]:
        github = self._client()
        return github, self.login or self._login(github)

    def _login(self, github: Github) -> str:
        def read() -> str:
            _headers, data = github.requester.requestJsonAndCheck("GET", "/user")
            login = expect_object(_json_answer(data), "the user").get("login")
            if not isinstance(login, str) or not login:
                raise UnreadableAnswer("a user without a login")
            return login

        return self._call(read, "GET /user")

    def _pull_request_stream(
        self, session: Shared[tuple[Github, str]], window: Window, _cursor: Cursor | None
    ) -> Iterator[Batch]:
        if window.empty:
            return
        github, login = session.get()
        yield from self._pull_requests(github, login, window)

    def _review_stream(
        self, session: Shared[tuple[Github, str]], window: Window, _cursor: Cursor | None
    ) -> Iterator[Batch]:
        """The reviews given in `window`, a page at a time, checkpointed on the reviews' own cursor.

        A failure to read them is a note, not a failed source: the pull requests are harvested as
        usual, and without a checkpoint the next harvest reads the reviews' window again.
        """
        if window.empty:
            return
        github, login = session.get()
        try:
            for reviews, read_until in self._reviews(github, login, window):
                if reviews or read_until is not None:
                    yield Batch(reviews, checkpoint=Cursor(read_until) if read_until is not None else None)
        except ReviewsUnavailable as exc:
            # a GitHub-compatible server without GraphQL: nothing to read again, the cursor moves on
            log.warning("%s", exc)
            yield Batch(notes=(f"{exc.detail} ({exc.fix})",), checkpoint=Cursor(window.end))
        except SourceError as exc:
            log.warning("%s", exc)
            yield Batch(notes=(REVIEWS_FAILED_NOTE.format(reason=exc.detail),))

    def _client(self) -> Github:
        # retries are the policy's (see _policy): PyGithub's would read a 403 by its wording only
        return Github(
            auth=Auth.Token(self._token.reveal()),
            base_url=self.base_url,
            per_page=SEARCH_PAGE_SIZE,
            retry=None,
            timeout=self.timeout,
            seconds_between_requests=None,
        )

    def _pull_requests(self, github: Github, login: str, window: Window) -> Iterator[Batch]:
        pending = [window]
        expected = 0
        # GitHub marks a search that timed out on its side `incomplete_results`; from then on no
        # checkpoint is saved, so the next harvest reads this window again instead of skipping it
        incomplete = False
        while pending:
            current = pending.pop(0)
            query = pull_request_query(login, current)
            page = self._search(github, query, 1)
            total = page.total
            if total > SEARCH_RESULT_CAP and current.end - current.start > timedelta(seconds=2):
                pending[0:0] = split_window(current, math.ceil(total / SPLIT_TARGET))
                continue
            if total > SEARCH_RESULT_CAP:
                log.warning(
                    "github: more than %d PRs merged within %s; only the first are harvested",
                    SEARCH_RESULT_CAP,
                    current,
                )
            wanted = min(total, SEARCH_RESULT_CAP)
            expected += wanted
            read = len(page.items)
            while True:
                # pages are numbered, so a server that serves fewer than per_page (or sends no Link
                # header) is read to the end all the same: stop once total_count items or an empty page came
                incomplete = incomplete or page.incomplete
                done = not page.items or read >= wanted
                activities = tuple(
                    activity
                    for item in page.items
                    if (activity := pull_request_activity(item)) is not None and current.contains(activity.occurred_at)
                )
                checkpoint = Cursor(current.end) if done and not incomplete else None
                notes = (INCOMPLETE_NOTE.format(window=current),) if done and incomplete else ()
                yield Batch(activities, checkpoint=checkpoint, expected_total=expected, notes=notes)
                if done:
                    break
                page = self._search(github, query, page.number + 1)
                read += len(page.items)

    def _search(self, github: Github, query: str, number: int) -> SearchPage:
        # the same request PyGithub's search_issues(...).get_page(number - 1) sends, read as plain JSON
        parameters: dict[str, Any] = {"q": query, "sort": SEARCH_SORT[0], "order": SEARCH_SORT[1]}
        if number > 1:
            parameters["page"] = number
        parameters["per_page"] = SEARCH_PAGE_SIZE

        def read() -> SearchPage:
            if self._pacer is not None:
                self._pacer()
            _headers, data = github.requester.requestJsonAndCheck("GET", "/search/issues", parameters=parameters)
            return search_page(data, number)

        return self._call(read, "GET /search/issues")

    def _reviews(
        self, github: Github, login: str, window: Window
    ) -> Iterator[tuple[tuple[Activity, ...], datetime | None]]:
        """Each page's reviews, with the end of its span once that span's last page was read.

        Pages follow GraphQL's cursor, not time, so only a span read to its end can be checkpointed.
        """
        start = window.start
        while start < window.end:
            end = min(window.end, start + REVIEW_SPAN_MAX)
            after: str | None = None
            while True:
                variables = {
                    "login": login,
                    "from": utc_z(start),
                    "to": utc_z(end - timedelta(seconds=1)),
                    "first": REVIEWS_PAGE_SIZE,
                    "after": after,
                }

                def read(variables: dict[str, Any] = variables) -> ReviewsPage:
                    _headers, data = github.requester.graphql_query(REVIEWS_QUERY, variables)
                    return reviews_page(data)

                page = self._call(read, "POST /graphql (the reviews query)", reviews=True)
                activities = tuple(
                    activity
                    for node in page.nodes
                    if (activity := review_activity(node, login)) is not None and window.contains(activity.occurred_at)
                )
                yield activities, end if page.end_cursor is None else None
                if page.end_cursor is None:
                    break
                after = page.end_cursor
            start = end

    def _call(self, operation: Callable[[], T], request: str, *, reviews: bool = False) -> T:
        """One request, retried and classified by the source's one policy."""
        return self._policy(reviews=reviews).run(operation, request)

    def _policy(self, *, reviews: bool = False) -> RetryPolicy:
        errors = github_errors(self.base_url)
        return RetryPolicy(
            reviews_errors(errors) if reviews else errors,
            service="GitHub",
            address=self.base_url,
            max_wait=self.max_rate_limit_wait,
            backoff_factor=self.backoff_factor,
            failure=github_failure,
            unreachable=UNREACHABLE,
            html_hint=BASE_URL_HINT,
            sleep=self._sleep,
        )

    @contextmanager
    def _classified(self, *, reviews: bool = False) -> Iterator[None]:
        """Turn PyGithub and requests failures into the harvester's error classes, once, here."""
        with self._policy(reviews=reviews).classified():
            yield


@dataclass(frozen=True)
class SearchPage:
    number: int
    total: int
    incomplete: bool
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class ReviewsPage:
    nodes: list[dict[str, Any]]
    # None on the last page
    end_cursor: str | None


def search_page(data: Any, number: int) -> SearchPage:
    """One `/search/issues` answer, checked against its documented shape before anything is read from it."""
    page = expect_object(_json_answer(data), "a search page")
    total = page.get("total_count")
    if not isinstance(total, int) or isinstance(total, bool):
        raise UnreadableAnswer(f"a search page whose total_count is {total!r}, not a number")
    items = expect_objects(page.get("items"), "a search page's items")
    for item in items:
        expect_fields(item, SEARCH_ITEM_TYPES, "a search item")
        if not isinstance(item.get("number"), int):
            raise UnreadableAnswer("a search item without a number")
        expect_objects(item.get("labels") or [], "a search item's labels")
    return SearchPage(number, total, bool(page.get("incomplete_results")), items)


def reviews_page(data: Any) -> ReviewsPage:
    """One answer to REVIEWS_QUERY, checked against the shape the query asks for."""
    answer = expect_object(_json_answer(data), "a GraphQL answer")
    content = expect_object(_json_answer(answer.get("data")), "a GraphQL answer's data")
    user = expect_object(content.get("user"), "the reviews query's user")
    collection = expect_object(user.get("contributionsCollection"), "the user's contributionsCollection")
    contributions = expect_object(
        collection.get("pullRequestReviewContributions"), "the pullRequestReviewContributions"
    )
    nodes = expect_objects(contributions.get("nodes"), "the review contributions' nodes")
    for node in nodes:
        expect_fields(node, REVIEW_NODE_TYPES, "a review contribution")
    page_info = expect_object(contributions.get("pageInfo"), "the review contributions' pageInfo")
    has_next = page_info.get("hasNextPage")
    end_cursor = page_info.get("endCursor")
    if not isinstance(has_next, bool) or (has_next and not isinstance(end_cursor, str)):
        raise UnreadableAnswer("a pageInfo without hasNextPage, or with a next page but no endCursor")
    return ReviewsPage(nodes, end_cursor if has_next else None)


def _json_answer(data: Any) -> Any:
    """The JSON PyGithub read, refusing what it makes of a body that was not JSON.

    PyGithub returns None for an empty body and wraps a body that does not start with `{` or `[`
    as {"data": "<the text>"} (Requester.__structuredFromJson; GETs also get a "url" key).
    """
    if data is None:
        raise UnreadableAnswer("an empty answer")
    if isinstance(data, str):
        raise UnreadableAnswer(describe_text(data, "text instead of JSON"))
    if isinstance(data, dict) and isinstance(data.get("data"), str) and set(data) <= {"data", "url"}:
        raise UnreadableAnswer(describe_text(data["data"], "text instead of JSON"))
    return data


def graphql_error(data: Any) -> SourceError | None:
    """The error a GraphQL `errors` answer stands for, or None when the answer was not GraphQL's.

    GitHub answers most GraphQL errors with HTTP 200 and an `errors` list (RATE_LIMITED,
    NOT_FOUND, FORBIDDEN, undefinedField…); PyGithub turns that into a 400 or, for a lone
    NOT_FOUND, a 404 (Requester.graphql_query). The server has GraphQL, so these never mean
    "no GraphQL here".
    """
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    entries = [error for error in errors if isinstance(error, dict)]
    kinds = {str(error.get("type") or (error.get("extensions") or {}).get("code") or "") for error in entries}
    described = "; ".join(_graphql_error_text(error) for error in entries[:3]) or str(errors[:3])
    if kinds & GRAPHQL_RATE_LIMIT_TYPES:
        return RateLimitError(SOURCE, f"GitHub's GraphQL API is rate limited ({described})")
    return SourceError(SOURCE, f"the GraphQL API answered the reviews query with errors ({described})")


def _graphql_error_text(error: Mapping[str, Any]) -> str:
    kind = error.get("type") or (error.get("extensions") or {}).get("code")
    message = str(error.get("message") or "")[:200]
    return f"{kind}: {message}" if kind else message


def pull_request_query(login: str, window: Window) -> str:
    """The search query for PRs by `login` merged in [start, end); `merged:A..B` is inclusive, to the second."""
    first = _ceil_second(window.start)
    last = _ceil_second(window.end) - timedelta(seconds=1)
    return PULL_REQUEST_QUERY.format(login=login, first=utc_z(first), last=utc_z(last))


def split_window(window: Window, parts: int) -> list[Window]:
    parts = max(2, parts)
    step = (window.end - window.start) / parts
    bounds = [_ceil_second(window.start + step * index) for index in range(parts)] + [window.end]
    bounds[0] = window.start
    return [Window(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def pull_request_activity(item: Mapping[str, Any]) -> Activity | None:
    """One search result item as an activity; None for items that are not merged pull requests."""
    pull = item.get("pull_request") or {}
    # `pull_request.merged_at` is optional in the spec (older GitHub Enterprise Server omits it); the
    # query asks for merged PRs only, and merging closes a PR at that moment, so closed_at stands in.
    # Present but null means not merged.
    merged = pull["merged_at"] if "merged_at" in pull else item.get("closed_at")
    merged_at = parse_api_time(merged)
    if merged_at is None:
        return None
    # `repository_url` is absent from older servers' search items (a 2014 recording has none); the
    # item's own API URL, /repos/OWNER/NAME/issues/N, names the repository too
    repo = repo_from_url(str(item.get("repository_url") or "")) or repo_from_url(str(item.get("url") or ""))
    number = item["number"]
    extra: dict[str, Any] = {
        "number": number,
        "node_id": item.get("node_id"),
        "created_at": item.get("created_at"),
        "comments": item.get("comments", 0),
    }
    if item.get("draft") is not None:
        extra["draft"] = item["draft"]
    return Activity(
        id=f"github:pr:{repo}#{number}",
        source=SOURCE,
        kind="pull_request",
        title=str(item.get("title") or ""),
        body=str(item.get("body") or ""),
        url=str(item.get("html_url") or pull.get("html_url") or ""),
        occurred_at=merged_at,
        repo=repo,
        labels=tuple(str(label["name"]) for label in item.get("labels") or () if label.get("name")),
        author=str((item.get("user") or {}).get("login") or ""),
        extra=extra,
    )


def review_activity(node: Mapping[str, Any], login: str) -> Activity | None:
    """One review contribution as an activity; reviews on the user's own PRs are not counted."""
    review = node.get("pullRequestReview") or {}
    pull = node.get("pullRequest") or {}
    author = (pull.get("author") or {}).get("login") or ""
    occurred_at = parse_api_time(review.get("submittedAt") or node.get("occurredAt"))
    if occurred_at is None or author == login:
        return None
    repo = (pull.get("repository") or {}).get("nameWithOwner") or ""
    number = pull.get("number")
    state = str(review.get("state") or "")
    return Activity(
        id=f"github:review:{repo}#{number}:{review.get('databaseId')}",
        source=SOURCE,
        kind="review",
        title=f"Reviewed: {pull.get('title') or ''}",
        body=str(review.get("body") or ""),
        url=str(review.get("url") or pull.get("url") or ""),
        occurred_at=occurred_at,
        repo=repo,
        labels=tuple(n["name"] for n in (pull.get("labels") or {}).get("nodes") or () if n.get("name")),
        author=login,
        extra={
            "state": state,
            "pull_request": number,
            "pull_request_author": author,
            "pull_request_url": pull.get("url"),
            "comments": (review.get("comments") or {}).get("totalCount"),
        },
        # a review is about its pull request: clustering reads the PR's title and URL from these
        subject_title=str(pull.get("title") or ""),
        subject_url=str(pull.get("url") or ""),
    )


def repo_from_url(url: str) -> str:
    """owner/name from a repository API URL such as https://api.github.com/repos/octo/api."""
    _, _, tail = url.partition("/repos/")
    return "/".join(tail.split("/")[:2])


def _ceil_second(moment: datetime) -> datetime:
    floor = moment.replace(microsecond=0)
    return floor if floor == moment else floor + timedelta(seconds=1)
