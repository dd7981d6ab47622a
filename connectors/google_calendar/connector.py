"""Google Calendar: the meetings the user organized or accepted, from `events.list` with sync tokens.

API facts this module relies on (calendar v3 discovery document revision 20261030, shipped with
google-api-python-client; developers.google.com/workspace/calendar/api/guides/sync):
- `timeMin` is an exclusive bound on an event's end; `maxResults` is at most 2,500;
- `syncToken` cannot be combined with `timeMin`, `timeMax` or `orderBy`, and the other
  parameters must match the full sync that issued it; `nextSyncToken` is on the last page only;
- an incremental sync reports deletions as `status: cancelled`; a full sync does too when
  `showDeleted` is set, which is how a resync after 410 removes what was deleted meanwhile;
- an expired sync token answers 410 (reason `fullSyncRequired`): start over with a full sync;
- `list_next` breaks on repeated parameters (google-api-python-client#2178), so pages are
  requested with `pageToken` directly.

How the window meets the sync token. The first harvest lists every event that ends after the
window start (no upper bound: a sync token can only follow such a listing). Events that end
after the window end have not happened yet: they are kept, already mapped, in the cursor state
as "pending" and stored by the first harvest whose window end passes their end, unless a later
sync reports them changed. Pending events are kept up to a horizon (a year after the full sync);
once a window reaches the horizon the next harvest does a full sync again, so the state stays
bounded. A changed event is (re)stored when it ended between the first full sync's start and the
window end, and reported gone only when the source says it no longer qualifies (cancelled,
declined, retitled to a skip pattern). A changed event that now ends after the window end (a
harvest up to yesterday, a meeting moved ahead) is never reported gone: it waits in "pending"
like any event that has not ended yet.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.google_calendar import auth as google_auth
from connectors.google_calendar.settings import GoogleCalendarSettings
from harvester.errors import TransientError
from harvester.people import PEOPLE, people_of
from harvester.records import Activity
from harvester.secrets import Secret
from harvester.sources import Batch, Cursor, Shared, Stream
from harvester.sources.http_errors import ErrorTable, HttpFailure, auth, config
from harvester.sources.retry import (
    RetryPolicy,
    UnreadableAnswer,
    describe_text,
    expect_fields,
    expect_object,
    expect_objects,
)
from harvester.timeutil import Window, parse_api_time, utc_z

log = logging.getLogger(__name__)

SOURCE = "google_calendar"
DEFAULT_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
# the largest page events.list serves (documented); a full sync of N events costs ceil(N/2500) requests
PAGE_SIZE = 2500
# partial response: only what the mapping reads. An attendee's email and name are read only to
# become person keys (harvester/people.py), never stored. The list's timeZone is the calendar's,
# which reads a dateTime that has neither offset nor timeZone.
FIELDS = (
    "nextPageToken,nextSyncToken,timeZone,items(id,status,summary,htmlLink,start,end,eventType,visibility,"
    "organizer/self,attendees(email,displayName,self,organizer,resource,responseStatus),attendeesOmitted,"
    "recurringEventId,"
    "conferenceData/conferenceSolution/key/type{description})"
)
SKIPPED_EVENT_TYPES = frozenset({"focusTime", "outOfOffice", "workingLocation", "birthday", "fromGmail"})
PRIVATE_VISIBILITY = frozenset({"private", "confidential"})
PRIVATE_TITLE = "Private event"
# sync tokens, not a re-read overlap, catch late changes
CURSOR_OVERLAP = timedelta(0)
# how far ahead ended-later events are kept in the cursor; reaching it costs one full sync
PENDING_HORIZON = timedelta(days=366)
RETRIES = 5
# usage limits answer 403 with these reasons, or 429 (documented: calendar/api/guides/errors)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# usage limits that retrying within minutes will not lift: reported as rate limits, not retried
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
# what httplib2 raises for a server it cannot reach or that does not answer in time
UNREACHABLE = (httplib2.HttpLib2Error, OSError)
AUTH_FIX = google_auth.REAUTHORIZE


# the JSON type of each field the records read (discovery document schemas Events, Event, EventDateTime)
EVENTS_PAGE_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "items": list,
    "nextPageToken": str,
    "nextSyncToken": str,
    "timeZone": str,
}
EVENT_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "status": str,
    "summary": str,
    "description": str,
    "htmlLink": str,
    "start": dict,
    "end": dict,
    "eventType": str,
    "visibility": str,
    "organizer": dict,
    "attendees": list,
    "attendeesOmitted": bool,
    "recurringEventId": str,
    "conferenceData": dict,
}
EVENT_TIME_TYPES: Mapping[str, type | tuple[type, ...]] = {"dateTime": str, "date": str, "timeZone": str}
ATTENDEE_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "email": str,
    "displayName": str,
    "self": bool,
    "organizer": bool,
    "resource": bool,
    "responseStatus": str,
}


class SyncTokenExpired(Exception):
    """410 GONE for a sync token: the caller starts a full sync again."""


@dataclass
class CalendarState:
    """What a calendar's stream keeps in its cursor between harvests (JSON in the cursor's `state`)."""

    sync_token: str | None = None
    time_min: datetime | None = None
    horizon: datetime | None = None
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CalendarState | None:
        if not data:
            return None
        return cls(
            sync_token=data.get("sync_token"),
            time_min=parse_api_time(data.get("time_min")),
            horizon=parse_api_time(data.get("horizon")),
            pending=dict(data.get("pending") or {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sync_token": self.sync_token,
            "time_min": self.time_min.isoformat() if self.time_min else None,
            "horizon": self.horizon.isoformat() if self.horizon else None,
            "pending": self.pending,
        }


@dataclass
class CalendarSession:
    """The credentials and API client the calendars of one run share."""

    credentials: Credentials
    service: Any
    # the access token as last saved, to tell a token google-auth refreshed on its own
    saved_token: str | None

    def save_refreshed_token(self, token_file: Path) -> None:
        google_auth.save_if_changed(self.credentials, token_file, self.saved_token)
        self.saved_token = self.credentials.token


class GoogleCalendarConnector:
    name: ClassVar[str] = SOURCE
    cursor_overlap: ClassVar[timedelta] = CURSOR_OVERLAP

    def __init__(
        self,
        token_file: Path | None,
        *,
        access_token: Secret | None = None,
        calendars: Sequence[str] = ("primary",),
        skip: Sequence[str] = (),
        api_endpoint: str = DEFAULT_ENDPOINT,
        include_descriptions: bool = False,
        max_rate_limit_wait: float = 300.0,
        timeout: int = 30,
        backoff_factor: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_file = token_file
        self._access_token = access_token
        self.calendars = tuple(calendars)
        self.skip = tuple(pattern.casefold() for pattern in skip if pattern)
        self.api_endpoint = api_endpoint
        self.include_descriptions = include_descriptions
        self.max_rate_limit_wait = max_rate_limit_wait
        self.timeout = timeout
        self.backoff_factor = backoff_factor
        self._sleep = sleep

    @classmethod
    def from_settings(cls, section: GoogleCalendarSettings) -> GoogleCalendarConnector:
        return cls._of_section(section, section.resolved_token_file(), None)

    @classmethod
    def _of_section(
        cls, section: GoogleCalendarSettings, token_file: Path | None, access_token: Secret | None
    ) -> GoogleCalendarConnector:
        return cls(
            token_file,
            access_token=access_token,
            calendars=section.calendars,
            skip=section.skip,
            api_endpoint=section.api_endpoint,
            include_descriptions=section.include_descriptions,
            max_rate_limit_wait=section.max_rate_limit_wait,
            timeout=section.timeout,
        )

    def streams(self) -> tuple[Stream, ...]:
        """One stream per configured calendar, named by its id: each keeps its own sync token."""
        # the token file is read, and the API client built, once for all calendars of a run
        session = Shared(self._session)
        return tuple(
            Stream(calendar, partial(self._calendar_stream, session, calendar), CURSOR_OVERLAP)
            for calendar in self.calendars
        )

    @classmethod
    def for_access_token(cls, access_token: Secret, section: GoogleCalendarSettings) -> GoogleCalendarConnector:
        """Team mode: a connected account's access token, renewed by the service before the run.

        The credentials carry no refresh token, so a 401 is a refused grant (the user reconnects)
        instead of a refresh attempt; nothing is written to a token file.
        """
        return cls._of_section(section, None, access_token)

    def _session(self) -> CalendarSession:
        if self._access_token is not None:
            credentials = Credentials(token=self._access_token.reveal())  # type: ignore[no-untyped-call]
        else:
            assert self.token_file is not None, "a connector without an access token reads a token file"
            credentials = google_auth.load_credentials(self.token_file)
        return CalendarSession(credentials, self._service(credentials), credentials.token)

    def _calendar_stream(
        self, session: Shared[CalendarSession], calendar: str, window: Window, cursor: Cursor | None
    ) -> Iterator[Batch]:
        if window.empty:
            return
        opened = session.get()
        previous = CalendarState.from_json(cursor.state if cursor else None)
        state = yield from self._calendar(opened.service, calendar, window, previous)
        if self.token_file is not None:
            opened.save_refreshed_token(self.token_file)
        # only after the whole listing: a failure part-way leaves this calendar's stored token as it was
        yield Batch((), checkpoint=Cursor(window.end, state.to_json()))

    def _service(self, credentials: Credentials) -> Any:
        http = AuthorizedHttp(credentials, http=httplib2.Http(timeout=self.timeout))
        # static_discovery reads the discovery document shipped with the library: no request for it
        return build(
            "calendar",
            "v3",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self.api_endpoint},
        )

    def _calendar(
        self, service: Any, calendar: str, window: Window, previous: CalendarState | None
    ) -> Generator[Batch, None, CalendarState]:
        if (
            previous is not None
            and previous.sync_token
            and previous.time_min is not None
            and previous.horizon is not None
            and previous.time_min <= window.start
            and window.end <= previous.horizon
        ):
            state = CalendarState(None, previous.time_min, previous.horizon, dict(previous.pending))
            try:
                state.sync_token = yield from self._listing(service, calendar, window, state, previous.sync_token)
            except SyncTokenExpired:
                log.info("%s: the sync token for %s expired (410); syncing it fully again", SOURCE, calendar)
            else:
                due = [Activity.from_json(item) for item in state.pending.values()]
                due = [activity for activity in due if activity.occurred_at < window.end]
                for activity in due:
                    del state.pending[activity.id]
                if due:
                    yield Batch(tuple(due))
                return state
        time_min = window.start
        if previous is not None and previous.time_min is not None:
            time_min = min(time_min, previous.time_min)
        state = CalendarState(None, time_min, window.end + PENDING_HORIZON, {})
        state.sync_token = yield from self._listing(service, calendar, window, state, None)
        return state

    def _listing(
        self, service: Any, calendar: str, window: Window, state: CalendarState, sync_token: str | None
    ) -> Generator[Batch, None, str | None]:
        """Read a full or incremental listing page by page; returns the next sync token."""
        assert state.time_min is not None and state.horizon is not None
        params: dict[str, Any] = {
            "calendarId": calendar,
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": PAGE_SIZE,
            "fields": self._fields(),
        }
        if sync_token:
            params["syncToken"] = sync_token
        else:
            # timeMin is exclusive and has whole seconds: a second earlier keeps an event ending at the start
            params["timeMin"] = utc_z(state.time_min - timedelta(seconds=1))
        page_token: str | None = None
        while True:
            with self._classified(calendar):
                page = self._execute(service.events().list(**params, pageToken=page_token), events_page)
            activities: list[Activity] = []
            deleted: list[str] = []
            zone = _zone(page.get("timeZone"))
            # a page may be empty and still not the last one (documented): only nextPageToken ends the listing
            for item in page.get("items") or ():
                key = activity_id(calendar, str(item["id"]))
                state.pending.pop(key, None)
                activity = event_activity(
                    item, calendar, skip=self.skip, descriptions=self.include_descriptions, zone=zone
                )
                if activity is None:
                    deleted.append(key)
                elif activity.occurred_at >= window.end:
                    # not reported as gone: the source only says it ends later than this window (a
                    # harvest up to yesterday, or a meeting moved ahead); it is stored, or updated
                    # if it already was, by the first harvest whose window passes its end
                    if activity.occurred_at < state.horizon:
                        state.pending[key] = activity.to_json()
                elif activity.occurred_at >= state.time_min:
                    activities.append(activity)
            yield Batch(tuple(activities), deleted=tuple(deleted))
            page_token = page.get("nextPageToken")
            if not page_token:
                next_token = page.get("nextSyncToken")
                return str(next_token) if next_token else None

    def _fields(self) -> str:
        return FIELDS.format(description=",description" if self.include_descriptions else "")

    def _execute(self, request: Any, read: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """Run one request and `read` its answer, retried by the source's one policy.

        googleapiclient's own `num_retries` ignores Retry-After and sleeps up to 2**n seconds at
        random, so it is off; what still fails is classified by `_classified`, which knows the calendar.
        """
        return self._policy().retried(lambda: read(_executed(request)), "events.list")

    def _policy(self, calendar: str = "") -> RetryPolicy:
        return RetryPolicy(
            google_errors(self.api_endpoint, calendar),
            service="Google",
            address=self.api_endpoint,
            max_wait=self.max_rate_limit_wait,
            backoff_factor=self.backoff_factor,
            failure=google_failure,
            unreachable=UNREACHABLE,
            sleep=self._sleep,
        )

    @contextmanager
    def _classified(self, calendar: str) -> Iterator[None]:
        """Turn googleapiclient, google-auth and network failures into the harvester's error classes."""
        try:
            with self._policy(calendar).classified("events.list"):
                yield
        except RefreshError as exc:
            # a 401 on a request makes google-auth refresh; a refused refresh surfaces here (measured)
            raise google_auth.refresh_failed(exc) from None
        except TransportError as exc:
            raise TransientError(SOURCE, f"cannot reach Google's token endpoint ({exc})") from None


def google_errors(endpoint: str, calendar: str) -> ErrorTable:
    """The shared error table, with Google's rate-limit reasons and the fixes for the calendar asked for."""
    return ErrorTable(
        SOURCE,
        RETRIES,
        rules={
            400: config(
                "the request was rejected (400 {message})",
                fix="check [google_calendar] api_endpoint points at the Calendar API v3",
            ),
            401: auth("Google refused the access token (401 {message})", fix=AUTH_FIX),
            403: auth(
                "access to calendar {calendar} denied (403 {reason}: {message})",
                fix="check the calendar is shared with you, then run `brag auth google` again",
            ),
            404: config(
                "calendar {calendar} not found under {endpoint} (404)",
                fix="check [google_calendar] calendars (ids look like primary or name@group.calendar.google.com) "
                "and api_endpoint",
            ),
        },
        context={"calendar": repr(calendar), "endpoint": endpoint},
        rate_limited=google_rate_limited,
        lasting=google_quota_spent,
    )


def google_failure(exc: BaseException) -> HttpFailure | None:
    if not isinstance(exc, HttpError):
        return None
    body = _error_body(exc)
    message = str(body.get("message") or exc.resp.reason or "")
    # httplib2's response is a dict of the headers, names in lower case
    return HttpFailure(exc.resp.status, dict(exc.resp), message=message, reason=_reason(body), body=body)


def google_rate_limited(failure: HttpFailure) -> bool:
    """429, or a usage limit named in the error body's reasons (documented: calendar/api/guides/errors)."""
    limits = RATE_LIMIT_REASONS | QUOTA_REASONS | {"RESOURCE_EXHAUSTED"}
    return failure.status == 429 or (failure.status != 401 and bool(_reasons(failure.body) & limits))


def google_quota_spent(failure: HttpFailure) -> bool:
    """A daily quota or a 403 that is not a per-minute limit: retrying within minutes will not lift it."""
    if failure.status == 429 or not google_rate_limited(failure):
        return False
    return not (failure.status == 403 and _reasons(failure.body) & RATE_LIMIT_REASONS)


def _executed(request: Any) -> Any:
    try:
        return request.execute(num_retries=0)
    except HttpError as exc:
        if exc.resp.status == 410:
            raise SyncTokenExpired from None
        raise


def events_page(answer: Any) -> dict[str, Any]:
    """One events.list page, checked against the discovery document's shape before anything is read.

    googleapiclient hands back the raw text when a body is not JSON (JsonModel.deserialize). The
    last page carries nextSyncToken and every other one nextPageToken (documented), so a page
    with neither is not the end of the listing: reading it as one would save a cursor past
    events never seen.
    """
    if isinstance(answer, str | bytes):
        raise UnreadableAnswer(describe_text(answer, "text instead of JSON"))
    page = expect_object(answer, "an events page")
    expect_fields(page, EVENTS_PAGE_TYPES, "an events page")
    if not page.get("nextPageToken") and not page.get("nextSyncToken"):
        raise UnreadableAnswer("an events page with neither nextPageToken nor nextSyncToken")
    # an empty page may leave `items` out; null is not an empty list
    for item in expect_objects(page.get("items", []), "an events page's items"):
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise UnreadableAnswer("an events page with an event that has no id")
        what = f"event {item['id']}"
        expect_fields(item, EVENT_TYPES, what)
        for name in ("start", "end"):
            expect_fields(item.get(name) or {}, EVENT_TIME_TYPES, what)
        for attendee in expect_objects(item.get("attendees") or [], f"{what}'s attendees"):
            expect_fields(attendee, ATTENDEE_TYPES, what)
        solution = (item.get("conferenceData") or {}).get("conferenceSolution")
        expect_fields({"conferenceSolution": solution}, {"conferenceSolution": dict}, what)
        expect_fields((solution or {}), {"key": dict}, what)
    return page


def activity_id(calendar: str, event_id: str) -> str:
    return f"{SOURCE}:{calendar}:{event_id}"


def event_activity(
    item: Mapping[str, Any],
    calendar: str,
    *,
    skip: Sequence[str] = (),
    descriptions: bool = False,
    zone: tzinfo | None = None,
) -> Activity | None:
    """One event as an activity; None when it is not a meeting the user organized or accepted.

    `zone` is the calendar's time zone (the list's `timeZone`), for times given without an offset.
    """
    if not qualifies(item, skip):
        return None
    start = event_time(item.get("start"), zone)
    end = event_time(item.get("end"), zone)
    if start is None or end is None:
        return None
    private = item.get("visibility") in PRIVATE_VISIBILITY
    attendees = [a for a in item.get("attendees") or () if not a.get("resource")]
    conference = (((item.get("conferenceData") or {}).get("conferenceSolution") or {}).get("key") or {}).get("type")
    extra: dict[str, Any] = {
        "calendar": calendar,
        "event_id": item.get("id"),
        "start": start.isoformat(),
        "duration_minutes": round((end - start).total_seconds() / 60),
        "organized": organized_by_user(item),
        "attendee_count": len(attendees),
        "recurring": bool(item.get("recurringEventId")),
        "conference": conference,
    }
    if item.get("attendeesOmitted"):
        extra["attendees_omitted"] = True
    # who else was there, as keys (a private event says nothing about its people either)
    people = [] if private else people_of(attendees)
    if people:
        extra[PEOPLE] = people
    return Activity(
        id=activity_id(calendar, str(item["id"])),
        source=SOURCE,
        kind="event",
        title=PRIVATE_TITLE if private else str(item.get("summary") or "(No title)"),
        body=str(item.get("description") or "") if descriptions and not private else "",
        url=str(item.get("htmlLink") or ""),
        occurred_at=end,
        extra=extra,
    )


def qualifies(item: Mapping[str, Any], skip: Sequence[str] = ()) -> bool:
    """Whether the user organized or accepted this timed, non-cancelled meeting, and it is not skipped."""
    if item.get("status") == "cancelled" or item.get("eventType", "default") in SKIPPED_EVENT_TYPES:
        return False
    # all-day events have `date` instead of `dateTime` (documented)
    if not (item.get("start") or {}).get("dateTime") or not (item.get("end") or {}).get("dateTime"):
        return False
    me = next((a for a in item.get("attendees") or () if a.get("self")), None)
    response = me.get("responseStatus") if me else None
    if response == "declined" or not (organized_by_user(item) or response == "accepted"):
        return False
    title = str(item.get("summary") or "").casefold()
    return not any(pattern.casefold() in title for pattern in skip)


def organized_by_user(item: Mapping[str, Any]) -> bool:
    """Whether the user organized the event: `organizer.self`, or their own attendee entry says so.

    Both flags are read-only and default to false when absent (discovery document).
    """
    if (item.get("organizer") or {}).get("self"):
        return True
    return any(a.get("self") and a.get("organizer") for a in item.get("attendees") or ())


def event_time(value: Any, zone: tzinfo | None = None) -> datetime | None:
    """An event's start or end; None for all-day events (`date` only).

    `dateTime` needs an offset "unless a time zone is explicitly specified in timeZone"
    (discovery document), so a bare wall time is read in the event's `timeZone`, else the calendar's.
    """
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    own = _zone(value.get("timeZone"))
    return parse_api_time(value["dateTime"], own or zone or UTC)


def _zone(name: Any) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _error_body(exc: HttpError) -> dict[str, Any]:
    try:
        data = json.loads(exc.content or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _reasons(body: Any) -> set[str]:
    """Every `error.errors[].reason`, plus `error.status` (the newer google.rpc form, e.g. RESOURCE_EXHAUSTED)."""
    if not isinstance(body, Mapping):
        return set()
    reasons = {str(e.get("reason")) for e in body.get("errors") or () if isinstance(e, Mapping) and e.get("reason")}
    if body.get("status"):
        reasons.add(str(body["status"]))
    return reasons


def _reason(body: Mapping[str, Any]) -> str:
    """The first reason, for messages; `error.status` when there is none."""
    for error in body.get("errors") or ():
        if isinstance(error, Mapping) and error.get("reason"):
            return str(error["reason"])
    return str(body.get("status") or "")
