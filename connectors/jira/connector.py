"""Jira: the tickets the user finished, from Jira Cloud or Jira Server/Data Center.

API facts this module relies on (jira 3.10.5 source; Atlassian REST docs; see ../shared/API-NOTES.md §4):
- `JIRA(server)` makes one call, `GET /rest/api/2/serverInfo`; its `deploymentType` ("Cloud", or
  "Server" for Server and Data Center alike) decides the search API;
- Cloud removed `/search` (410, CHANGE-2046): it searches `/rest/api/3/search/jql`, paged by
  `nextPageToken`, with no `total`; Server/DC searches `/rest/api/2/search`, paged by `startAt`;
- JQL date literals have minute precision and are read in the account's time zone (`/myself`
  `timeZone`, JRACLOUD-74279), so windows are widened to whole minutes in that zone and the
  results filtered to the exact window here;
- any `fields` list makes the client fetch `/field` once to translate names (cached while
  non-empty); that same answer tells which custom fields hold story points and epic links;
- each search issue carries every field asked for, so no request per ticket is needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA, JIRAError

from connectors.jira.settings import JiraSettings
from harvester.errors import ConfigError, SourceAuthError, SourceConfigError, SourceError
from harvester.people import PEOPLE, account_ids, people_of
from harvester.records import Activity
from harvester.secrets import Secret
from harvester.sources import Batch, Cursor, Stream
from harvester.sources.http_errors import ErrorTable, HttpFailure, Rule, auth, config
from harvester.sources.retry import RetryPolicy, UnreadableAnswer, expect_fields, expect_object, expect_objects
from harvester.timeutil import Window

log = logging.getLogger(__name__)

T = TypeVar("T")

SOURCE = "jira"
# the one stream; its name keys the stored cursor, so it stays
TICKETS_STREAM = "tickets"
# enhanced search returns at most 100 issues a page once fields beyond id/key are asked for (documented);
# Server/DC allows up to jira.search.views.default.max (1000), but pages of 100 keep answers small
PAGE_SIZE = 100
# the status names a finished ticket moves to; `CHANGED TO` works on status, not statusCategory (documented)
DONE_STATUSES = ("Done", "Closed")
# the filter part of the query; `[jira] jql` replaces it
DEFAULT_FILTER = "statusCategory = Done"
# The two questions, answered by one search: the user's own tickets resolved in the window, and
# any ticket the user moved to a done status in it (work done on someone else's ticket). A history
# clause (`CHANGED`) is a clause like any other, so it may be OR-ed with field clauses (documented:
# the Cloud OpenAPI's JqlQueryClause is a CompoundClause of and/or/not over value, WAS and CHANGED
# clauses). One search instead of two halves the pages and leaves nothing to deduplicate.
TICKET_CONDITIONS: Mapping[str, str] = {
    "assigned": 'assignee = currentUser() AND resolved >= "{start}" AND resolved < "{end}"',
    "transitioned": 'status CHANGED TO ({done}) BY currentUser() DURING ("{start}", "{end}")',
}
# every OR and AND is parenthesised: Atlassian's own texts disagree on how "A OR B AND C" nests.
# Bounded in time, as Cloud requires, and totally ordered (key breaks ties), so pages are stable
# while they are read.
TICKET_QUERY = "(({assigned}) OR ({transitioned})) AND {filter} ORDER BY resolved ASC, key ASC"
# JQL accepts "yyyy/MM/dd HH:mm": minutes are its finest precision
JQL_DATE = "%Y/%m/%d %H:%M"
# without a time zone from /myself the literal could be read in any zone: widen by the largest offset
UNKNOWN_ZONE_MARGIN = timedelta(hours=14)
# only what the records need; the story points and epic link fields are added once /field names them
FIELDS = (
    "summary",
    "description",
    "status",
    "resolution",
    "resolutiondate",
    "statuscategorychangedate",
    "issuetype",
    "priority",
    "project",
    "labels",
    "parent",
    "assignee",
    "updated",
    # who else took part, read only as person keys (harvester/people.py): the search embeds the
    # comments as a page ({comments, maxResults, total, startAt}); only their authors are read
    "reporter",
    "comment",
)
STORY_POINT_NAMES = ("story points", "story point estimate")
EPIC_LINK_NAME = "epic link"
# a ticket the user moved to done without a resolution is dated by that transition, from the history;
# enhanced search embeds at most 40 histories per issue (measured by others), older ones fall back
TICKET_EXPAND = "changelog"
# Server/DC's Epic Link holds only the epic's key, and no search expand adds its summary; the keys
# of the whole harvest are read in one `key in (...)` search per EPIC_BATCH keys, at its end.
# validateQuery=false: a deleted or hidden epic would otherwise fail that search with 400 (documented)
EPIC_BATCH = 100
# Cloud serves the v3 search; v2 stays for serverInfo, myself and field, which every Jira has
CLOUD_SEARCH_API_VERSION = "3"
RETRIES = 4
# what the client (requests) raises for a server it cannot reach or that does not answer in time
UNREACHABLE = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
RECONNECT_FIX = "reconnect Jira on your settings page"
CLOUD_HOSTS = (".atlassian.net", ".jira.com", ".jira-dev.com")
API_TOKEN_URL = "https://id.atlassian.com/manage-profile/security/api-tokens"
CLOUD_AUTH_FIX = (
    f"Jira Cloud needs your account email as [jira] email and an API token (not your password) as "
    f"[jira] token; create one at {API_TOKEN_URL}"
)
SERVER_AUTH_FIX = (
    "Jira Server/Data Center needs a personal access token as [jira] pat "
    "(your Jira profile → Personal Access Tokens); check it has not expired"
)
SERVER_URL_FIX = (
    "set [jira] server to the address you open Jira at in a browser, without /rest or /browse: "
    "https://YOUR-SITE.atlassian.net for Cloud, or https://jira.example.com (plus its context path) for Server/DC"
)


ACCESS_FIX = (
    "check the account may browse the projects, and that a CAPTCHA is not locking it (log in once in a browser)"
)
QUERY_FIX = "check [jira] jql, and that [jira] done_statuses names statuses your workflows have"
SERVER_URL_HINT = "check [jira] server is the address you open Jira at, without /rest or /browse"
# the JSON type of each field the records read (Jira REST reference; `description` is a string in
# v2 and an Atlassian Document Format object in v3)
ISSUE_FIELD_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "summary": str,
    "description": (str, dict),
    "status": dict,
    "resolution": dict,
    "resolutiondate": str,
    "statuscategorychangedate": str,
    "issuetype": dict,
    "priority": dict,
    "project": dict,
    "labels": list,
    "parent": dict,
    "assignee": dict,
    "updated": str,
    "reporter": dict,
    "comment": dict,
}
# Cloud's enhanced search pages by token, Server/DC's search by offset (documented)
CLOUD_PAGE_TYPES: Mapping[str, type | tuple[type, ...]] = {"nextPageToken": str, "isLast": bool}
SERVER_PAGE_TYPES: Mapping[str, type | tuple[type, ...]] = {"startAt": int, "maxResults": int, "total": int}
MYSELF_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "accountId": str,
    "name": str,
    "key": str,
    "displayName": str,
    "timeZone": str,
}


@dataclass(frozen=True)
class Search:
    """One JQL search, as sent on every page of it."""

    jql: str
    fields: tuple[str, ...]
    expand: str | None = None
    # Server/DC's validateQuery; false turns a value no issue has into no match instead of a 400
    validate: bool = True


class JiraConnector:
    name: ClassVar[str] = SOURCE
    # a resolution may be indexed a little late; re-reading an hour costs no extra request
    cursor_overlap: ClassVar[timedelta] = timedelta(hours=1)

    def __init__(
        self,
        server: str,
        *,
        email: str | None = None,
        token: Secret | str | None = None,
        pat: Secret | str | None = None,
        oauth_token: Secret | None = None,
        jql: str | None = None,
        done_statuses: Sequence[str] = DONE_STATUSES,
        max_rate_limit_wait: float = 300.0,
        timeout: float = 30.0,
        backoff_factor: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server = server.rstrip("/")
        self.email = email
        self._token = Secret(token, key="jira.token") if isinstance(token, str) else token
        self._pat = Secret(pat, key="jira.pat") if isinstance(pat, str) else pat
        # team mode: a connected account's OAuth 2.0 (3LO) access token, sent as a Bearer token to
        # api.atlassian.com/ex/jira/{cloudid}, where Cloud takes it (unlike a personal access token)
        self._oauth_token = oauth_token
        self.jql = jql
        self.done_statuses = tuple(done_statuses)
        self.max_rate_limit_wait = max_rate_limit_wait
        self.timeout = timeout
        self.backoff_factor = backoff_factor
        self._sleep = sleep

    @classmethod
    def from_settings(cls, section: JiraSettings) -> JiraConnector:
        if section.pat is not None and (section.email or section.token is not None):
            raise ConfigError("set either pat (Server/Data Center) or email and token (Cloud), not both", key="jira")
        if section.pat is None and (not section.email or section.token is None):
            raise ConfigError(
                'needs email and token (Cloud: token = "env:JIRA_API_TOKEN") or pat (Server/Data Center)', key="jira"
            )
        return cls(
            section.server,
            email=section.email,
            token=section.token,
            pat=section.pat,
            jql=section.jql,
            done_statuses=section.done_statuses,
            max_rate_limit_wait=section.max_rate_limit_wait,
            timeout=section.timeout,
        )

    @property
    def cloud_url(self) -> bool:
        host = urlsplit(self.server).hostname or ""
        return host.endswith(CLOUD_HOSTS)

    def streams(self) -> tuple[Stream, ...]:
        """One stream: the tickets the user resolved or moved to a done status."""
        return (Stream(TICKETS_STREAM, self._tickets, self.cursor_overlap),)

    def _tickets(self, window: Window, _cursor: Cursor | None) -> Iterator[Batch]:
        if window.empty:
            return
        if self._pat is not None and self.cloud_url:
            raise pat_on_cloud(self.server)
        client = self._call(self._connect, None, "GET /rest/api/2/serverInfo")
        cloud = client.deploymentType == "Cloud"
        if cloud and self._pat is not None:
            raise pat_on_cloud(self.server)
        me = self._call(lambda: myself_answer(client.myself()), cloud, "GET /rest/api/2/myself")
        field_ids = self._call(lambda: _field_ids(client), cloud, "GET /rest/api/2/field")
        fields = requested_fields(field_ids, cloud)
        if cloud:
            # the client builds every URL from this option; serverInfo, myself and field were read under /2
            client._options["rest_api_version"] = CLOUD_SEARCH_API_VERSION
        query = ticket_query(window, account_zone(me), jql=self.jql, done_statuses=self.done_statuses)
        # Cloud's parent field brings the epic's summary; Server/DC's Epic Link only its key
        lookup_epics = not cloud and "epic" in field_ids
        seen: set[str] = set()
        # Server/DC tickets in an epic wait for the one epic lookup at the end; the checkpoint comes
        # after them, so a crash before it re-reads the window and loses nothing
        waiting: list[Activity] = []
        for issues in self._pages(client, cloud, Search(query, tuple(fields), TICKET_EXPAND)):
            # an offset page may repeat a ticket when one ahead of it changed while paging
            fresh = [issue for issue in issues if issue.get("key") not in seen]
            seen.update(str(issue.get("key")) for issue in fresh)
            activities = [
                activity
                for issue in fresh
                if (
                    activity := ticket_activity(
                        issue, server=self.server, me=me, field_ids=field_ids, done_statuses=self.done_statuses
                    )
                )
                is not None
                and window.contains(activity.occurred_at)
            ]
            ready: list[Activity] = []
            for activity in activities:
                (waiting if lookup_epics and needs_epic_summary(activity) else ready).append(activity)
            yield Batch(tuple(ready))
        if waiting:
            summaries = self._epic_summaries(client, sorted({str(activity.extra["epic"]) for activity in waiting}))
            yield Batch(tuple(with_epic_summary(activity, summaries) for activity in waiting))
        yield Batch((), checkpoint=Cursor(window.end))

    def _connect(self) -> JIRA:
        bearer = self._oauth_token or self._pat
        auth: dict[str, Any] = (
            {"token_auth": bearer.reveal()}
            if bearer is not None
            else {"basic_auth": (self.email or "", self._token.reveal() if self._token else "")}
        )
        # retries are the policy's (see _policy): the client's own double Retry-After, add jitter and skip 500/502/504
        try:
            return JIRA(self.server, max_retries=0, timeout=self.timeout, **auth)
        except (KeyError, TypeError):
            # the client reads serverInfo's versionNumbers and raises these when the JSON is not Jira's
            raise UnreadableAnswer("JSON that is not Jira's server info (no versionNumbers list)") from None

    def _pages(self, client: JIRA, cloud: bool, search: Search) -> Iterator[list[dict[str, Any]]]:
        """The issues of one search, a page (one request) at a time."""
        token: str | None = None
        start = 0
        while True:
            page = self._search(client, cloud, search, start=start, token=token)
            issues = list(page.get("issues") or [])
            yield issues
            if cloud:
                # Cloud reports no total; the last page has no nextPageToken (documented)
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    return
                continue
            # the server may cap maxResults below what was asked (jira.search.views.default.max), so
            # advance by what arrived; without a total, a page shorter than the server's own
            # maxResults is the last one
            start = int(page.get("startAt") or start) + len(issues)
            total = page.get("total")
            served = page.get("maxResults")
            if not issues or (total is not None and start >= int(total)):
                return
            if total is None and isinstance(served, int) and 0 < len(issues) < served:
                return

    def _search(
        self, client: JIRA, cloud: bool, search: Search, *, start: int = 0, token: str | None = None
    ) -> dict[str, Any]:
        def page() -> Any:
            # the client rewrites the fields list in place (names to ids), so it gets a copy
            fields = list(search.fields)
            if cloud:
                return client.enhanced_search_issues(
                    search.jql,
                    nextPageToken=token,
                    maxResults=PAGE_SIZE,
                    fields=fields,
                    expand=search.expand,
                    json_result=True,
                )
            return client.search_issues(
                search.jql,
                startAt=start,
                maxResults=PAGE_SIZE,
                validate_query=search.validate,
                fields=fields,
                expand=search.expand,
                json_result=True,
            )

        path = f"/rest/api/{CLOUD_SEARCH_API_VERSION}/search/jql" if cloud else "/rest/api/2/search"
        return self._call(lambda: search_answer(page(), cloud), cloud, f"the search (GET {path})")

    def _epic_summaries(self, client: JIRA, keys: Sequence[str]) -> dict[str, str]:
        """The summaries of Server/DC epics by key: one search per EPIC_BATCH keys for the whole harvest."""
        summaries: dict[str, str] = {}
        for first in range(0, len(keys), EPIC_BATCH):
            jql = f"key in ({', '.join(keys[first : first + EPIC_BATCH])})"
            for epics in self._pages(client, False, Search(jql, ("summary",), validate=False)):
                for epic in epics:
                    summaries[str(epic.get("key"))] = str((epic.get("fields") or {}).get("summary") or "")
        return summaries

    def _call(self, operation: Callable[[], T], cloud: bool | None, request: str) -> T:
        """Run one client call, retried and classified by the source's one policy."""
        return self._policy(cloud).run(operation, request)

    def _policy(self, cloud: bool | None) -> RetryPolicy:
        return RetryPolicy(
            jira_errors(self.server, lambda _failure: self._auth_error(cloud)),
            service="Jira",
            address=self.server,
            max_wait=self.max_rate_limit_wait,
            backoff_factor=self.backoff_factor,
            failure=jira_failure,
            unreachable=UNREACHABLE,
            html_hint=SERVER_URL_HINT,
            sleep=self._sleep,
        )

    def _classify(self, exc: JIRAError, cloud: bool | None) -> SourceError:
        failure = jira_failure(exc)
        assert failure is not None
        return self._policy(cloud).errors.error(failure)

    def _auth_error(self, cloud: bool | None) -> SourceError:
        if self._oauth_token is not None:
            return SourceAuthError(SOURCE, "Jira refused the connected account's access token (401)", fix=RECONNECT_FIX)
        if cloud is None:
            cloud = self._probe_cloud()
        if self._pat is not None and (cloud or self.cloud_url):
            return pat_on_cloud(self.server)
        if self._pat is not None:
            return SourceAuthError(SOURCE, "the personal access token was refused (401)", fix=SERVER_AUTH_FIX)
        if cloud is False:
            return SourceAuthError(
                SOURCE,
                f"{self.server} is Jira Server/Data Center and refused the email and token (401)",
                fix=SERVER_AUTH_FIX + ", and remove [jira] email and token",
            )
        secret = self._token.reveal() if self._token is not None else ""
        if cloud or self.cloud_url:
            if looks_like_password(secret):
                return SourceAuthError(
                    SOURCE, "Jira Cloud refused the login (401); [jira] token looks like a password", fix=CLOUD_AUTH_FIX
                )
            return SourceAuthError(
                SOURCE,
                "Jira Cloud refused the email and API token (401): wrong email, or the token is revoked",
                fix=CLOUD_AUTH_FIX,
            )
        return SourceAuthError(
            SOURCE,
            "the credentials were refused (401)",
            fix=f"for Cloud: {CLOUD_AUTH_FIX}; for Server/Data Center: {SERVER_AUTH_FIX}",
        )

    def _probe_cloud(self) -> bool | None:
        """Whether the server is Cloud, asked without credentials (serverInfo is public): only to explain a 401."""
        try:
            answer = requests.get(f"{self.server}/rest/api/2/serverInfo", timeout=self.timeout)
            deployment = answer.json().get("deploymentType") if answer.ok else None
        except (requests.RequestException, ValueError, AttributeError):
            return None
        return None if deployment is None else deployment == "Cloud"


def jira_errors(server: str, refused: Rule) -> ErrorTable:
    """The shared error table, with Jira's fixes; `refused` explains a 401 (it depends on the deployment)."""
    return ErrorTable(
        SOURCE,
        RETRIES,
        rules={
            400: config("Jira refused the query (400 {message})", fix=QUERY_FIX),
            401: refused,
            403: auth("access denied (403 {message})", fix=ACCESS_FIX),
            404: config("{server} does not answer like Jira (404 on {url})", fix=SERVER_URL_FIX),
            410: config("the search API is gone on {server} (410 {message})", fix=SERVER_URL_FIX),
        },
        context={"server": server},
    )


def jira_failure(exc: BaseException) -> HttpFailure | None:
    """A JIRAError as an `HttpFailure`; the client's `text` is already Jira's errorMessages joined."""
    if not isinstance(exc, JIRAError):
        return None
    headers = exc.response.headers if exc.response is not None else {}
    return HttpFailure(exc.status_code or 0, headers, message=(exc.text or "").strip()[:200], url=str(exc.url))


def pat_on_cloud(server: str) -> SourceConfigError:
    """Jira Cloud signs in with an email and API token only; personal access tokens are Server/DC's (documented)."""
    return SourceConfigError(
        SOURCE,
        f"{server} is Jira Cloud, which does not accept personal access tokens",
        fix=CLOUD_AUTH_FIX + " and remove [jira] pat",
    )


def search_answer(page: Any, cloud: bool) -> dict[str, Any]:
    """One search page, checked against the documented shape before anything is read from it.

    A page without its `issues` list is not an empty page: reading it as one would move the
    cursor past tickets never seen.
    """
    answer = expect_object(page, "a search page")
    expect_fields(answer, CLOUD_PAGE_TYPES if cloud else SERVER_PAGE_TYPES, "a search page")
    if cloud and answer.get("isLast") is False and not answer.get("nextPageToken"):
        # more pages follow and there is no way to ask for them: ending here would checkpoint past them
        # (a last page may leave out isLast, so only an explicit false is a contradiction)
        raise UnreadableAnswer("a search page that is not the last (isLast false) without a nextPageToken")
    for issue in expect_objects(answer.get("issues"), "a search page's issues"):
        if not isinstance(issue.get("key"), str) or not issue["key"]:
            raise UnreadableAnswer("a search page with an issue that has no key")
        expect_fields(issue, {"fields": dict, "changelog": dict}, f"issue {issue['key']}")
        expect_fields(issue.get("fields") or {}, ISSUE_FIELD_TYPES, f"issue {issue['key']}")
        for history in expect_objects((issue.get("changelog") or {}).get("histories") or [], "a changelog"):
            expect_objects(history.get("items") or [], "a changelog entry's items")
        comments = ((issue.get("fields") or {}).get("comment") or {}).get("comments") or []
        for comment in expect_objects(comments, f"issue {issue['key']}'s comments"):
            expect_fields(comment, {"author": dict}, f"a comment of issue {issue['key']}")
    return answer


def myself_answer(me: Any) -> dict[str, Any]:
    answer = expect_object(me, "the account (/myself)")
    expect_fields(answer, MYSELF_TYPES, "the account (/myself)")
    # Cloud identifies accounts by accountId, Server/DC by name and key (documented): one must be there
    if not any(answer.get(key) for key in ("accountId", "name", "key")):
        raise UnreadableAnswer("an account (/myself) without accountId, name or key")
    return answer


def looks_like_password(secret: str) -> bool:
    """Atlassian API tokens are long random strings (24 characters before 2023, ATATT… and ~190 since)."""
    return not secret.startswith("ATATT") and (len(secret) < 24 or any(ch.isspace() for ch in secret))


def ticket_query(
    window: Window,
    zone: tzinfo | None,
    *,
    jql: str | None = None,
    done_statuses: Sequence[str] = DONE_STATUSES,
) -> str:
    """The one JQL search for `window` (both questions, OR-ed), with dates as the account's zone reads them.

    The cursor needs no clause of its own: the runner starts the window at the cursor minus
    `cursor_overlap`. Bounds are widened to whole minutes (and an hour more on an ambiguous
    daylight-saving hour) so the results cover the window; the caller filters them exactly.
    """
    start, end = jql_bounds(window, zone)
    done = ", ".join(_jql_value(status) for status in done_statuses)
    conditions = {
        name: condition.format(start=start, end=end, done=done) for name, condition in TICKET_CONDITIONS.items()
    }
    return TICKET_QUERY.format(filter=f"({jql})" if jql else DEFAULT_FILTER, **conditions)


def needs_epic_summary(activity: Activity) -> bool:
    """A ticket whose epic is known only by its key."""
    return bool(activity.extra.get("epic")) and "epic_summary" in activity.extra and not activity.extra["epic_summary"]


def with_epic_summary(activity: Activity, summaries: Mapping[str, str]) -> Activity:
    """The ticket with its epic's summary, when the lookup found the epic."""
    summary = summaries.get(str(activity.extra.get("epic")))
    return replace(activity, extra={**activity.extra, "epic_summary": summary}) if summary else activity


def jql_bounds(window: Window, zone: tzinfo | None) -> tuple[str, str]:
    """JQL date literals for [start, end): start rounded down, end rounded up to the minute, in `zone`."""
    start, end = window.start, window.end
    if zone is None:
        start, end, zone = start - UNKNOWN_ZONE_MARGIN, end + UNKNOWN_ZONE_MARGIN, UTC
    low = start.astimezone(zone).replace(second=0, microsecond=0)
    high = end.astimezone(zone)
    if high.second or high.microsecond:
        high = high.replace(second=0, microsecond=0) + timedelta(minutes=1)
    # a wall time the clocks pass twice may be read as its later instance: step an hour outwards
    if _ambiguous(low):
        low -= timedelta(hours=1)
    if _ambiguous(high):
        high += timedelta(hours=1)
    return low.strftime(JQL_DATE), high.strftime(JQL_DATE)


def _ambiguous(moment: datetime) -> bool:
    return moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset()


def _jql_value(text: str) -> str:
    return text if text.replace("_", "").isalnum() else '"' + text.replace('"', '\\"') + '"'


def account_zone(me: Mapping[str, Any]) -> tzinfo | None:
    """The zone JQL dates are read in: the account's `timeZone` from /myself, None if unknown."""
    name = me.get("timeZone")
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _field_ids(client: JIRA) -> dict[str, str]:
    """Story points and epic link field ids, from the instance's one `/field` answer.

    The client caches that answer only as clause names (`clauseNames`, optional in the spec)
    and only while the cache is non-empty, so a server that omits them would be asked again on
    every search. The cache is filled here instead, never empty.
    """
    fields = expect_objects(client.fields(), "the field list")
    for entry in fields:
        expect_fields(entry, {"id": str, "name": str, "clauseNames": list}, "a field")
    client._fields_cache_value = field_clauses(fields)
    return custom_field_ids(fields)


def field_clauses(fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """JQL clause name → field id, as the client translates requested fields; never empty."""
    clauses = {name: name for name in FIELDS}
    for entry in fields:
        if entry.get("id"):
            for clause in entry.get("clauseNames") or ():
                clauses[str(clause)] = str(entry["id"])
    return clauses


def custom_field_ids(fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Which fields hold story points and the epic link, by clause name or else display name."""
    found: dict[str, str] = {}
    for entry in fields:
        field_id = entry.get("id")
        if not field_id:
            continue
        names = {str(name).lower() for name in (*(entry.get("clauseNames") or ()), entry.get("name") or "")}
        if names & set(STORY_POINT_NAMES) and "story_points" not in found:
            found["story_points"] = str(field_id)
        elif EPIC_LINK_NAME in names and "epic" not in found:
            found["epic"] = str(field_id)
    return found


def requested_fields(field_ids: Mapping[str, str], cloud: bool) -> list[str]:
    """FIELDS plus the instance's story points field, and on Server/DC its Epic Link field."""
    fields = list(FIELDS)
    if "story_points" in field_ids:
        fields.append(field_ids["story_points"])
    # Cloud puts the epic in `parent`, with its summary; Server/DC only in the Epic Link custom field
    if not cloud and "epic" in field_ids:
        fields.append(field_ids["epic"])
    return fields


def ticket_activity(
    issue: Mapping[str, Any],
    *,
    server: str,
    me: Mapping[str, Any],
    field_ids: Mapping[str, str] | None = None,
    epic_summaries: Mapping[str, str] | None = None,
    done_statuses: Sequence[str] = DONE_STATUSES,
) -> Activity | None:
    """One search result as a ticket activity, dated when it was finished; None if it has no such time."""
    field_ids = field_ids or {}
    fields: Mapping[str, Any] = issue.get("fields") or {}
    key = str(issue.get("key") or "")
    occurred_at = (
        parse_jira_time(fields.get("resolutiondate"))
        or done_transition_time(issue, me, done_statuses)
        or parse_jira_time(fields.get("statuscategorychangedate"))
    )
    if not key or occurred_at is None:
        return None
    occurred_at = occurred_at.astimezone(UTC)
    status = fields.get("status") or {}
    project = fields.get("project") or {}
    extra: dict[str, Any] = {
        "key": key,
        "issue_type": (fields.get("issuetype") or {}).get("name"),
        "status": status.get("name"),
        "status_category": (status.get("statusCategory") or {}).get("key"),
        "resolution": (fields.get("resolution") or {}).get("name"),
        "priority": (fields.get("priority") or {}).get("name"),
        "project": project.get("key"),
        "project_name": project.get("name"),
        "assignee": (fields.get("assignee") or {}).get("displayName"),
    }
    parent = fields.get("parent") or {}
    parent_fields = parent.get("fields") or {}
    parent_type = parent_fields.get("issuetype") or {}
    if parent.get("key"):
        is_epic = parent_type.get("hierarchyLevel") == 1 or parent_type.get("name") == "Epic"
        relation = "epic" if is_epic else "parent"
        extra[relation] = parent["key"]
        extra[f"{relation}_summary"] = parent_fields.get("summary")
    epic_field = field_ids.get("epic")
    if epic_field and fields.get(epic_field) and "epic" not in extra:
        extra["epic"] = fields[epic_field]
        extra["epic_summary"] = (epic_summaries or {}).get(str(fields[epic_field]))
    points_field = field_ids.get("story_points")
    if points_field and fields.get(points_field) is not None:
        extra["story_points"] = fields[points_field]
    people = people_of(_participants(issue), me)
    if people:
        extra[PEOPLE] = people
    return Activity(
        id=f"jira:{key}",
        source=SOURCE,
        kind="ticket",
        title=str(fields.get("summary") or ""),
        body=description_text(fields.get("description")),
        url=f"{server.rstrip('/')}/browse/{key}",
        occurred_at=occurred_at,
        labels=tuple(str(label) for label in fields.get("labels") or ()),
        author=str(me.get("displayName") or me.get("name") or me.get("accountId") or ""),
        extra=extra,
    )


def _participants(issue: Mapping[str, Any]) -> list[Mapping[str, Any] | None]:
    """The user objects of everyone who reported, was assigned, commented on or changed the issue."""
    fields: Mapping[str, Any] = issue.get("fields") or {}
    comments = (fields.get("comment") or {}).get("comments") or ()
    histories = (issue.get("changelog") or {}).get("histories") or ()
    return [
        fields.get("reporter"),
        fields.get("assignee"),
        *(comment.get("author") for comment in comments),
        *(history.get("author") for history in histories),
    ]


def done_transition_time(
    issue: Mapping[str, Any], me: Mapping[str, Any], done_statuses: Sequence[str] = DONE_STATUSES
) -> datetime | None:
    """When the user last moved the issue to a done status, from its embedded changelog."""
    mine = account_ids(me)
    done = {status.lower() for status in done_statuses}
    latest: datetime | None = None
    for history in (issue.get("changelog") or {}).get("histories") or ():
        author = history.get("author") or {}
        if not mine & account_ids(author):
            continue
        for item in history.get("items") or ():
            if item.get("field") == "status" and str(item.get("toString") or "").lower() in done:
                moment = parse_jira_time(history.get("created"))
                if moment is not None and (latest is None or moment > latest):
                    latest = moment
    return latest


def description_text(value: Any) -> str:
    """The description as plain text: v2 gives a string, v3 an Atlassian Document Format tree."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    blocks: list[str] = []

    def walk(node: Any, out: list[str]) -> None:
        if isinstance(node, Mapping):
            if node.get("type") == "text":
                out.append(str(node.get("text") or ""))
            elif node.get("type") == "hardBreak":
                out.append("\n")
            for child in node.get("content") or ():
                walk(child, out)

    for block in value.get("content") or () if isinstance(value, Mapping) else ():
        parts: list[str] = []
        walk(block, parts)
        blocks.append("".join(parts))
    return "\n\n".join(block for block in blocks if block)


def parse_jira_time(value: Any) -> datetime | None:
    """Jira's timestamps, such as 2026-11-03T14:05:09.000+0100."""
    if not value:
        return None
    text = str(value)
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = [
    "TICKET_CONDITIONS",
    "TICKET_QUERY",
    "JiraConnector",
    "custom_field_ids",
    "description_text",
    "jql_bounds",
    "parse_jira_time",
    "ticket_activity",
    "ticket_query",
]
