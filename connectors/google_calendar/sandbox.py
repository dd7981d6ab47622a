"""A sandbox Google Calendar: `events.list` with paging and sync tokens, and an OAuth token endpoint.

It follows the documented behaviour the connector depends on (discovery document revision
20261030; developers.google.com/workspace/calendar/api/guides/sync):
- `maxResults` defaults to 250 and is capped at 2,500; `nextPageToken` on every page but the
  last, `nextSyncToken` only on the last;
- `timeMin` bounds an event's end and `timeMax` its start, both exclusive;
- a `syncToken` request returns only what changed since the token, deletions included as
  `status: cancelled`; it cannot be combined with `timeMin`, `timeMax`, `orderBy`, `q` or
  `updatedMin` (400), and an expired token answers 410 `fullSyncRequired`;
- errors have Google's JSON shape `{"error": {"code", "message", "errors": [{"reason"}], "status"}}`.

A listing is taken as of the moment of its first page: changes made while a client pages
through it are left for the next sync token, as on Google.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

from harvester.sandbox.oauth import AuthorizationServer
from harvester.sandbox.scenario import USER_LOGIN, CalendarEvent, Scenario, display_name_of, email_of
from harvester.sandbox.server import Request, Response, SandboxServer

DEFAULT_ACCESS_TOKEN = "ya29.sandbox-access"
DEFAULT_REFRESH_TOKEN = "1//sandbox-refresh"
CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "sandbox-client-secret"
SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
DEFAULT_PAGE_SIZE = 250
MAX_PAGE_SIZE = 2500
EVENTS_PATH = r"/calendar/v3/calendars/(?P<calendar>[^/]+)/events"
NOT_WITH_SYNC_TOKEN = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID")
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    410: "GONE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
DEFAULT_REASONS = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    410: "fullSyncRequired",
    429: "rateLimitExceeded",
}


def google_error(status: int, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    """An error body in the shape Google APIs answer with."""
    reason = reason or DEFAULT_REASONS.get(status, "backendError")
    message = message or {
        "authError": "Request had invalid authentication credentials.",
        "rateLimitExceeded": "Rate Limit Exceeded",
        "fullSyncRequired": "Sync token is no longer valid, a full sync is required.",
        "backendError": "Backend Error",
    }.get(reason, reason)
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }


class GoogleCalendarSandbox(SandboxServer):
    def __init__(
        self,
        scenario: Scenario,
        *,
        access_tokens: Iterable[str] = (DEFAULT_ACCESS_TOKEN,),
        refresh_tokens: Iterable[str] = (DEFAULT_REFRESH_TOKEN,),
        time_zone: str = "Europe/Berlin",
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.scenario = scenario
        self.access_tokens = set(access_tokens)
        self.refresh_tokens = set(refresh_tokens)
        self.zone = ZoneInfo(time_zone)
        self._state_lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._issued = itertools.count(1)
        # calendar -> event id -> (sequence number of its last change, event)
        self._events: dict[str, dict[str, tuple[int, CalendarEvent]]] = {"primary": {}}
        self._sync_tokens: dict[str, int] = {}
        for event in scenario.calendar_events:
            self._store(event)
        self.route("GET", EVENTS_PATH, self._list)
        self.route("POST", r"/token", self._token)
        # the web-server flow (team mode): accounts.google.com/o/oauth2/v2/auth on Google
        self.oauth = AuthorizationServer(
            "Google",
            {},
            accept=self.access_tokens.add,
            forget=self.access_tokens.discard,
            token_prefix="ya29.sandbox-web-",
            expires_in=3599,
        )
        self.route("GET", r"/o/oauth2/v2/auth", lambda request, _m: self.oauth.authorize_page(request))
        self.route("POST", r"/o/oauth2/v2/auth", lambda request, _m: self.oauth.authorize_decision(request))

    def start(self) -> GoogleCalendarSandbox:
        # a short poll interval makes stop() return in 50 ms instead of 500 ms, which keeps tests quick
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-calendar", daemon=True
        )
        self._thread.start()
        return self

    def __enter__(self) -> GoogleCalendarSandbox:
        return self.start()

    def calendar_url(self) -> str:
        """The `api_endpoint` to give googleapiclient (it replaces rootUrl and servicePath)."""
        return f"{self.base_url}/calendar/v3/"

    def authorized_user_info(self, *, expired: bool = False) -> dict[str, Any]:
        """The token file `brag auth google` would write, with its token endpoint pointing here."""
        info: dict[str, Any] = {
            "token": DEFAULT_ACCESS_TOKEN,
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "token_uri": f"{self.base_url}/token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": [SCOPE],
            "universe_domain": "googleapis.com",
            "account": "",
        }
        info["expiry"] = "2000-01-01T00:00:00Z" if expired else "2999-01-01T00:00:00Z"
        return info

    def add_calendar(self, calendar: str) -> None:
        with self._state_lock:
            self._events.setdefault(calendar, {})

    def put(self, event: CalendarEvent) -> None:
        """Create or replace an event, as a change the next sync token will report."""
        with self._state_lock:
            self._store(event)

    def change(self, event_id: str, calendar: str = "primary", **changes: Any) -> CalendarEvent:
        """Change fields of an event (e.g. `response="declined"`, `status="cancelled"`)."""
        with self._state_lock:
            _, event = self._events[calendar][event_id]
            updated = replace(event, **changes)
            self._store(updated)
            return updated

    def cancel(self, event_id: str, calendar: str = "primary") -> None:
        self.change(event_id, calendar, status="cancelled")

    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far answers 410 from now on, as after Google invalidates them."""
        with self._state_lock:
            self._sync_tokens.clear()

    def revoke(self, refresh_token: str = DEFAULT_REFRESH_TOKEN) -> None:
        self.refresh_tokens.discard(refresh_token)

    def _store(self, event: CalendarEvent) -> None:
        self._events.setdefault(event.calendar, {})[event.id] = (next(self._sequence), event)

    def _token(self, request: Request, _match: re.Match[str]) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") == "authorization_code" or form.get("client_id", CLIENT_ID) != CLIENT_ID:
            # a web app's client (team mode); the installed app of `brag auth google` is handled below
            return self.oauth.token(request)
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        if form.get("refresh_token") not in self.refresh_tokens:
            return Response(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        token = f"ya29.sandbox-{next(self._issued)}"
        self.access_tokens.add(token)
        return Response(200, {"access_token": token, "expires_in": 3599, "scope": SCOPE, "token_type": "Bearer"})

    def _list(self, request: Request, match: re.Match[str]) -> Response:
        auth = request.header("authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return Response(401, google_error(401), {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        calendar = unquote(match.group("calendar"))
        with self._state_lock:
            if calendar not in self._events:
                return Response(404, google_error(404, message="Not Found"))
            try:
                page_size = int(request.param("maxResults") or DEFAULT_PAGE_SIZE)
            except ValueError:
                return Response(400, google_error(400, message="Invalid value for maxResults"))
            if page_size < 1:
                return Response(400, google_error(400, message="Invalid max results value"))
            page_size = min(page_size, MAX_PAGE_SIZE)
            page = _decode_page_token(request.param("pageToken"))
            snapshot = page.get("snapshot", self._latest())
            offset = int(page.get("offset", 0))
            sync_token = request.param("syncToken")
            if sync_token is not None:
                if any(request.param(name) for name in NOT_WITH_SYNC_TOKEN):
                    return Response(400, google_error(400, message="Sync token cannot be used with other filters."))
                since = self._sync_tokens.get(sync_token)
                if since is None:
                    return Response(410, google_error(410))
                chosen = self._changes(calendar, since, snapshot)
            else:
                try:
                    chosen = self._listing(calendar, request, snapshot)
                except ValueError as exc:
                    return Response(400, google_error(400, message=str(exc)))
            items = chosen[offset : offset + page_size]
            body: dict[str, Any] = {
                "kind": "calendar#events",
                "etag": f'"{snapshot}"',
                "summary": email_of(USER_LOGIN) if calendar == "primary" else calendar,
                "description": "",
                "updated": _rfc3339(self.scenario.now),
                "timeZone": str(self.zone),
                "accessRole": "owner",
                "defaultReminders": [{"method": "popup", "minutes": 10}],
                "items": [self.event_json(event, sequence) for sequence, event in items],
            }
            if offset + page_size < len(chosen):
                body["nextPageToken"] = _encode_page_token({"snapshot": snapshot, "offset": offset + page_size})
            else:
                token = f"sync-{snapshot}-{next(self._issued)}"
                self._sync_tokens[token] = snapshot
                body["nextSyncToken"] = token
        return Response(200, body)

    def _latest(self) -> int:
        return max((seq for events in self._events.values() for seq, _ in events.values()), default=0)

    def _changes(self, calendar: str, since: int, snapshot: int) -> list[tuple[int, CalendarEvent]]:
        changed = [(seq, event) for seq, event in self._events[calendar].values() if since < seq <= snapshot]
        return sorted(changed, key=lambda pair: pair[0])

    def _listing(self, calendar: str, request: Request, snapshot: int) -> list[tuple[int, CalendarEvent]]:
        if request.param("singleEvents") != "true":
            raise ValueError("the sandbox serves recurring events as single instances only: set singleEvents=true")
        time_min = _parse_bound(request.param("timeMin"), "timeMin")
        time_max = _parse_bound(request.param("timeMax"), "timeMax")
        show_deleted = request.param("showDeleted") == "true"
        event_types = set(request.query.get("eventTypes", ()))
        chosen = []
        for seq, event in self._events[calendar].values():
            if seq > snapshot:
                continue
            if event.status == "cancelled" and not show_deleted:
                continue
            if event_types and event.event_type not in event_types:
                continue
            start, end = self._span(event)
            if time_min is not None and end <= time_min:
                continue
            if time_max is not None and start >= time_max:
                continue
            chosen.append((seq, event))
        order = request.param("orderBy")
        if order == "updated":
            return sorted(chosen, key=lambda pair: pair[0])
        return sorted(chosen, key=lambda pair: (self._span(pair[1])[0], pair[1].id))

    def _span(self, event: CalendarEvent) -> tuple[datetime, datetime]:
        if event.all_day:
            # an all-day event spans the calendar's days in the calendar's time zone
            start = datetime.combine(event.start.date(), datetime.min.time(), tzinfo=self.zone)
            end = datetime.combine(event.end.date(), datetime.min.time(), tzinfo=self.zone)
            return start, end
        return event.start, event.end

    def event_json(self, event: CalendarEvent, sequence: int) -> dict[str, Any]:
        """One event as `events.list` shows it to the user whose calendar it is."""
        etag = f'"{3_300_000_000_000_000 + sequence}"'
        if event.status == "cancelled":
            # deletions carry little more than the id (documented for incremental sync)
            cancelled: dict[str, Any] = {"kind": "calendar#event", "etag": etag, "id": event.id, "status": "cancelled"}
            if event.recurring_event_id:
                cancelled["recurringEventId"] = event.recurring_event_id
                cancelled["originalStartTime"] = self._when(event.start, all_day=event.all_day)
            return cancelled
        organizer: dict[str, Any] = {
            "email": email_of(event.organizer),
            "displayName": display_name_of(event.organizer),
        }
        if event.organizer == USER_LOGIN:
            organizer["self"] = True
        updated = self.scenario.now - timedelta(days=40) + timedelta(seconds=sequence)
        data: dict[str, Any] = {
            "kind": "calendar#event",
            "etag": etag,
            "id": event.id,
            "status": event.status,
            "htmlLink": "https://www.google.com/calendar/event?eid="
            + base64.urlsafe_b64encode(f"{event.id} {email_of(USER_LOGIN)}".encode()).decode().rstrip("="),
            "created": _rfc3339(self.scenario.now - timedelta(days=60)),
            "updated": _rfc3339(updated),
            "summary": event.summary,
            "creator": dict(organizer),
            "organizer": organizer,
            "start": self._when(event.start, all_day=event.all_day),
            "end": self._when(event.end, all_day=event.all_day),
            "iCalUID": f"{event.recurring_event_id or event.id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": event.event_type,
        }
        if event.description:
            data["description"] = event.description
        if event.visibility != "default":
            data["visibility"] = event.visibility
        if event.recurring_event_id:
            data["recurringEventId"] = event.recurring_event_id
            data["originalStartTime"] = self._when(event.start, all_day=event.all_day)
        if event.attendees:
            data["attendees"] = [self._attendee(event, login) for login in event.attendees]
        if event.conference == "hangoutsMeet":
            code = "-".join(("abc", event.id[:4].ljust(4, "x"), "xyz")).lower()
            data["hangoutLink"] = f"https://meet.google.com/{code}"
            data["conferenceData"] = {
                "entryPoints": [
                    {
                        "entryPointType": "video",
                        "uri": f"https://meet.google.com/{code}",
                        "label": f"meet.google.com/{code}",
                    }
                ],
                "conferenceSolution": {
                    "key": {"type": "hangoutsMeet"},
                    "name": "Google Meet",
                    "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
                },
                "conferenceId": code,
            }
        elif event.conference:
            data["conferenceData"] = {
                "entryPoints": [{"entryPointType": "video", "uri": f"https://{event.conference}.example/j/{event.id}"}],
                "conferenceSolution": {"key": {"type": "addOn"}, "name": event.conference},
                "conferenceId": event.id,
            }
        if event.event_type == "focusTime":
            data["transparency"] = "opaque"
            data["focusTimeProperties"] = {
                "autoDeclineMode": "declineOnlyNewConflictingInvitations",
                "chatStatus": "doNotDisturb",
                "declineMessage": "Declined because I am in focus time.",
            }
        elif event.event_type == "outOfOffice":
            data["outOfOfficeProperties"] = {
                "autoDeclineMode": "declineAllConflictingInvitations",
                "declineMessage": "Declined because I am out of office",
            }
        elif event.event_type == "workingLocation":
            data["transparency"] = "transparent"
            data["visibility"] = "public"
            if event.summary == "Home":
                data["workingLocationProperties"] = {"type": "homeOffice", "homeOffice": {}}
            else:
                data["workingLocationProperties"] = {"type": "officeLocation", "officeLocation": {"label": "Berlin"}}
        return data

    def _attendee(self, event: CalendarEvent, login: str) -> dict[str, Any]:
        attendee: dict[str, Any] = {"email": email_of(login), "displayName": display_name_of(login)}
        if login == event.organizer:
            attendee["organizer"] = True
        if login == USER_LOGIN:
            attendee["self"] = True
            attendee["responseStatus"] = event.response or "accepted"
        else:
            attendee["responseStatus"] = "accepted" if login == event.organizer else "needsAction"
        return attendee

    def _when(self, moment: datetime, *, all_day: bool) -> dict[str, str]:
        if all_day:
            return {"date": moment.date().isoformat()}
        local = moment.astimezone(self.zone)
        return {"dateTime": local.isoformat(), "timeZone": str(self.zone)}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_bound(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"Bad Request: {name} is not an RFC3339 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError(f"Bad Request: {name} needs a time zone offset")
    return moment


def _encode_page_token(data: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _decode_page_token(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
