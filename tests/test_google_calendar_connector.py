"""The Google Calendar connector with the real google-api-python-client against the sandbox."""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from streams_support import read_all, read_streams
from support import NOW

from connectors.google_calendar.connector import (
    PAGE_SIZE,
    GoogleCalendarConnector,
    event_activity,
)
from connectors.google_calendar.sandbox import (
    DEFAULT_ACCESS_TOKEN,
    GoogleCalendarSandbox,
    google_error,
)
from harvester.config import parse_settings
from harvester.errors import RateLimitError, SourceAuthError, SourceConfigError, TransientError
from harvester.people import person_entry
from harvester.records import Activity
from harvester.sandbox.scenario import USER_LOGIN, CalendarEvent, Scenario, display_name_of, email_of
from harvester.sources import Batch, Cursor, configured_connectors
from harvester.store import repository
from harvester.sync import SyncRunner
from harvester.timeutil import Window

EVENTS = "/calendar/v3/calendars/primary/events"
WINDOW = Window(NOW - timedelta(weeks=4), NOW)
SKIP = ("standup", "lunch")
# what the scenario's four weeks leave after every filter
HARVESTED = {
    "pay12meeting",
    "ops44meeting",
    "pay58meeting",
    "roadmapprep",
    "doctor",
    "ledgerlag",
    "tokenhandover",
    "oneonone_20261029T150000Z",
    "oneonone_20261105T150000Z",
    "oneonone_20261112T150000Z",
    "oneonone_20261119T150000Z",
}


def cid(event_id: str, calendar: str = "primary") -> str:
    return f"google_calendar:{calendar}:{event_id}"


@pytest.fixture
def calendar(scenario: Scenario) -> Iterator[GoogleCalendarSandbox]:
    with GoogleCalendarSandbox(scenario) as server:
        yield server


@pytest.fixture
def token_file(tmp_path: Path, calendar: GoogleCalendarSandbox) -> Path:
    path = tmp_path / "google-token.json"
    path.write_text(json.dumps(calendar.authorized_user_info()))
    return path


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def gcal(calendar: GoogleCalendarSandbox, token_file: Path, sleeps: list[float]) -> GoogleCalendarConnector:
    return make(calendar, token_file, sleeps)


def make(
    server: GoogleCalendarSandbox, token_file: Path, sleeps: list[float] | None = None, **options: Any
) -> GoogleCalendarConnector:
    options.setdefault("skip", SKIP)
    recorded = sleeps if sleeps is not None else []
    return GoogleCalendarConnector(
        token_file, api_endpoint=server.calendar_url(), backoff_factor=0.5, sleep=recorded.append, **options
    )


def harvest(connector: GoogleCalendarConnector, window: Window = WINDOW, cursor: Cursor | None = None) -> list[Batch]:
    return list(read_all(connector, window, cursor))


def activities(batches: list[Batch]) -> dict[str, Activity]:
    return {a.id: a for batch in batches for a in batch.activities}


def deleted(batches: list[Batch]) -> set[str]:
    return {key for batch in batches for key in batch.deleted}


def checkpoint(batches: list[Batch]) -> Cursor:
    cursor = batches[-1].checkpoint
    assert cursor is not None
    return cursor


def listed(server: GoogleCalendarSandbox) -> list[dict[str, list[str]]]:
    return [dict(r.query) for r in server.requests if r.path.endswith("/events")]


def test_full_sync_sends_one_request_and_maps_the_meetings(
    calendar: GoogleCalendarSandbox, gcal: GoogleCalendarConnector
) -> None:
    batches = harvest(gcal)

    assert [(r.method, r.path, r.status) for r in calendar.requests] == [("GET", EVENTS, 200)]
    (query,) = listed(calendar)
    assert query["timeMin"] == ["2026-10-23T11:59:59Z"]
    assert query["singleEvents"] == ["true"] and query["showDeleted"] == ["true"]
    assert query["maxResults"] == ["2500"]
    assert not {"timeMax", "orderBy", "syncToken", "pageToken", "eventTypes"} & set(query)
    # an attendee's email is asked for only to become a person key: no description, no organizer email
    assert "description" not in query["fields"][0] and "organizer/email" not in query["fields"][0]
    assert calendar.requests[0].authorization == f"Bearer {DEFAULT_ACCESS_TOKEN}"

    records = activities(batches)
    assert set(records) == {cid(e) for e in HARVESTED}
    review = records[cid("pay12meeting")]
    assert review.kind == "event" and review.source == "google_calendar"
    assert review.title == "Design review: webhook retries"
    assert review.body == ""
    assert review.occurred_at.isoformat() == "2026-10-24T16:45:00+02:00"
    assert review.url.startswith("https://www.google.com/calendar/event?eid=")
    assert dict(review.extra) == {
        "calendar": "primary",
        "event_id": "pay12meeting",
        "start": "2026-10-24T16:00:00+02:00",
        "duration_minutes": 45,
        "organized": True,
        "attendee_count": 3,
        "recurring": False,
        "conference": "hangoutsMeet",
        "people": sorted(
            person_entry(email_of(login), display_name_of(login)) for login in ("sam-sre", "lee-frontend")
        ),
    }
    # who was there is kept as keys only: no address and no name in the record
    stored = json.dumps(review.to_json())
    assert "@" not in stored and "Sam" not in stored and "sam" not in stored
    postmortem = records[cid("pay58meeting")]
    assert postmortem.extra["organized"] is False and postmortem.extra["attendee_count"] == 4
    assert records[cid("oneonone_20261112T150000Z")].extra["recurring"] is True
    assert records[cid("roadmapprep")].extra["attendee_count"] == 0

    cursor = checkpoint(batches)
    assert cursor.harvested_until == NOW
    state = cursor.state
    assert state["sync_token"] and state["time_min"] == WINDOW.start.isoformat()
    assert list(state["pending"]) == [cid("sprintplanning")]


@pytest.mark.parametrize(
    ("event_id", "why"),
    [
        ("standup_20261110T093000Z", "title matches skip pattern 'standup'"),
        ("lunch_20261111T120000Z", "title matches skip pattern 'lunch'"),
        ("allhandsrehearsal", "declined"),
        ("vendordemo", "not answered (needsAction)"),
        ("architectureguild", "tentative is not accepted"),
        ("capacityplanning", "cancelled"),
        ("focus20261110", "focus time"),
        ("ooo", "out of office"),
        ("wl20261110", "working location"),
        ("hackathon", "all-day"),
    ],
)
def test_filtered_events_are_not_stored_and_reported_gone(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox, event_id: str, why: str
) -> None:
    batches = harvest(gcal)
    assert cid(event_id) not in activities(batches), why
    # reported as gone, so a meeting declined or cancelled after it was stored is removed
    assert cid(event_id) in deleted(batches), why


def test_future_event_waits_until_it_has_ended(gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox) -> None:
    first = harvest(gcal)
    assert cid("sprintplanning") not in activities(first)
    calendar.clear_log()
    later = Window(NOW, NOW + timedelta(days=2))
    second = harvest(gcal, later, checkpoint(first))
    assert set(activities(second)) == {cid("sprintplanning")}
    # nothing changed on the server: one incremental request is all it takes
    assert len(calendar.requests) == 1 and listed(calendar)[0].get("syncToken")
    assert checkpoint(second).state["pending"] == {}


def test_skip_patterns_are_case_insensitive(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    records = activities(harvest(make(calendar, token_file, skip=["STANDUP", "Lunch", "design REVIEW"])))
    assert not any("standup" in r.title.lower() or "lunch" in r.title.lower() for r in records.values())
    assert cid("pay12meeting") not in records
    everything = activities(harvest(make(calendar, token_file, skip=[])))
    assert cid("standup_20261110T093000Z") in everything and cid("lunch_20261111T120000Z") in everything


def test_private_events_keep_only_a_neutral_title(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    records = activities(harvest(make(calendar, token_file, include_descriptions=True)))
    private = records[cid("doctor")]
    assert private.title == "Private event" and private.body == ""
    assert "Dentist" not in json.dumps(private.to_json())


def test_descriptions_only_when_turned_on(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    off = activities(harvest(make(calendar, token_file)))
    on = activities(harvest(make(calendar, token_file, include_descriptions=True)))
    assert off[cid("pay12meeting")].body == ""
    assert on[cid("pay12meeting")].body.startswith("Agenda and notes for PAY-12")
    first, second = listed(calendar)
    assert "description" not in first["fields"][0] and "description" in second["fields"][0]


def test_unchanged_incremental_sync_is_one_request(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    first = harvest(gcal)
    token = checkpoint(first).state["sync_token"]
    calendar.clear_log()
    second = harvest(gcal, Window(NOW, NOW + timedelta(hours=1)), checkpoint(first))
    (query,) = listed(calendar)
    assert query["syncToken"] == [token]
    assert "timeMin" not in query and "pageToken" not in query
    assert activities(second) == {} and deleted(second) == set()
    state = checkpoint(second).state
    assert state["sync_token"] != token and state["time_min"] == WINDOW.start.isoformat()


def test_incremental_sync_applies_changes(gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox) -> None:
    first = harvest(gcal)
    calendar.change("oneonone_20261119T150000Z", summary="1:1 Dana / Morgan (promo case)")
    calendar.cancel("pay58meeting")
    calendar.change("ledgerlag", response="declined")
    calendar.change("vendordemo", response="accepted")
    added = CalendarEvent(
        "hotfix", "Hotfix sync", NOW + timedelta(minutes=10), NOW + timedelta(minutes=40), attendees=(USER_LOGIN,)
    )
    calendar.put(added)
    # changed long before the first harvest's window: never harvested, so not stored now either
    calendar.put(
        CalendarEvent("ancient", "Old meeting", NOW - timedelta(weeks=10), NOW - timedelta(weeks=10, hours=-1))
    )
    calendar.clear_log()

    second = harvest(gcal, Window(NOW, NOW + timedelta(hours=1)), checkpoint(first))

    assert len(calendar.requests) == 1
    records = activities(second)
    assert set(records) == {cid("oneonone_20261119T150000Z"), cid("vendordemo"), cid("hotfix")}
    assert records[cid("oneonone_20261119T150000Z")].title == "1:1 Dana / Morgan (promo case)"
    assert deleted(second) == {cid("pay58meeting"), cid("ledgerlag")}


def test_past_window_never_reports_a_changed_later_meeting_gone(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    """`brag harvest --until yesterday` after a stored 1:1 was retitled: the 1:1 is not deleted."""
    first = harvest(gcal)
    one_on_one = "oneonone_20261119T150000Z"
    assert cid(one_on_one) in activities(first)
    calendar.change(one_on_one, summary="1:1 Dana / Morgan (promo case)")

    # ends before the 1:1 (Thursday 15:30 UTC), which the sync token reports changed
    until_yesterday = harvest(gcal, Window(WINDOW.start, NOW - timedelta(days=1)), checkpoint(first))

    assert cid(one_on_one) not in deleted(until_yesterday)
    assert cid(one_on_one) not in activities(until_yesterday)
    later = harvest(gcal, Window(NOW, NOW + timedelta(hours=1)), checkpoint(until_yesterday))
    assert activities(later)[cid(one_on_one)].title == "1:1 Dana / Morgan (promo case)"
    assert deleted(later) == set()


def test_meeting_moved_ahead_is_updated_once_it_has_happened_not_deleted(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    first = harvest(gcal)
    moved = calendar.change("pay58meeting", start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, minutes=30))

    second = harvest(gcal, Window(NOW, NOW + timedelta(hours=1)), checkpoint(first))
    assert cid("pay58meeting") not in deleted(second) and cid("pay58meeting") not in activities(second)

    third = harvest(gcal, Window(NOW + timedelta(hours=1), NOW + timedelta(days=2)), checkpoint(second))
    assert activities(third)[cid("pay58meeting")].occurred_at == moved.end


def test_expired_sync_token_resyncs_from_the_first_start(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    first = harvest(gcal)
    calendar.expire_sync_tokens()
    calendar.cancel("pay58meeting")
    calendar.clear_log()

    second = harvest(gcal, Window(NOW, NOW + timedelta(days=2)), checkpoint(first))

    assert [r.status for r in calendar.requests] == [410, 200]
    incremental, full = listed(calendar)
    assert "syncToken" in incremental and "timeMin" not in incremental
    assert full["timeMin"] == ["2026-10-23T11:59:59Z"] and "syncToken" not in full
    # the full resync stores everything again (upserts make that harmless), adds what ended since,
    # and removes what was cancelled while the token was expired
    assert set(activities(second)) == {cid(e) for e in HARVESTED - {"pay58meeting"}} | {cid("sprintplanning")}
    assert cid("pay58meeting") in deleted(second)
    state = checkpoint(second).state
    assert state["sync_token"] and state["time_min"] == WINDOW.start.isoformat()


def test_explicit_earlier_window_syncs_fully_from_its_start(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    first = harvest(gcal, Window(NOW - timedelta(weeks=1), NOW))
    calendar.clear_log()
    earlier = harvest(gcal, WINDOW, checkpoint(first))
    (query,) = listed(calendar)
    assert query["timeMin"] == ["2026-10-23T11:59:59Z"]
    assert set(activities(earlier)) == {cid(e) for e in HARVESTED}


def test_window_start_is_inclusive(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    ledger_end = NOW.replace(day=18, hour=16, minute=30)
    records = activities(harvest(make(calendar, token_file), Window(ledger_end, NOW)))
    assert cid("ledgerlag") in records
    assert all(r.occurred_at >= ledger_end for r in records.values())


@pytest.mark.parametrize("count", [0, 1, 2500, 2501, 5001])
def test_pages_of_2500(tmp_path: Path, count: int) -> None:
    start = NOW - timedelta(days=60)
    with GoogleCalendarSandbox(Scenario.calendar_bulk(count, start, NOW)) as server:
        path = tmp_path / "token.json"
        path.write_text(json.dumps(server.authorized_user_info()))
        batches = harvest(make(server, path), Window(start, NOW))
        assert len(activities(batches)) == count
        queries = listed(server)
        pages = max(1, math.ceil(count / PAGE_SIZE))
        assert len(queries) == pages
        assert [q.get("pageToken") is not None for q in queries] == [False] + [True] * (pages - 1)
        assert all(q["timeMin"] == queries[0]["timeMin"] and q["maxResults"] == ["2500"] for q in queries)
        assert checkpoint(batches).state["sync_token"]


def test_expired_access_token_is_refreshed_and_saved(calendar: GoogleCalendarSandbox, tmp_path: Path) -> None:
    path = tmp_path / "data" / "google-token.json"
    path.parent.mkdir()
    path.write_text(json.dumps(calendar.authorized_user_info(expired=True)))
    records = activities(harvest(make(calendar, path)))
    assert len(records) == len(HARVESTED)
    assert [(r.method, r.path) for r in calendar.requests] == [("POST", "/token"), ("GET", EVENTS)]
    saved = json.loads(path.read_text())
    assert saved["token"] == "ya29.sandbox-1" and saved["refresh_token"]
    assert calendar.requests[1].authorization == "Bearer ya29.sandbox-1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    calendar.clear_log()
    harvest(make(calendar, path))
    assert [r.path for r in calendar.requests] == [EVENTS]


def test_401_during_harvest_refreshes_once_and_saves(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox, token_file: Path
) -> None:
    calendar.inject(401, body=google_error(401), path_contains="/events")
    assert len(activities(harvest(gcal))) == len(HARVESTED)
    assert [(r.path, r.status) for r in calendar.requests] == [(EVENTS, 401), ("/token", 200), (EVENTS, 200)]
    assert json.loads(token_file.read_text())["token"] == "ya29.sandbox-1"


def test_revoked_refresh_token_asks_to_authorize_again(calendar: GoogleCalendarSandbox, tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text(json.dumps(calendar.authorized_user_info(expired=True)))
    calendar.revoke()
    with pytest.raises(SourceAuthError) as caught:
        harvest(make(calendar, path))
    assert "invalid_grant" in str(caught.value) and "brag auth google" in caught.value.fix
    assert calendar.count("/events") == 0


def test_revoked_during_harvest_asks_to_authorize_again(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    calendar.revoke()
    calendar.inject(401, body=google_error(401), path_contains="/events")
    with pytest.raises(SourceAuthError, match="brag auth google"):
        harvest(gcal)


def test_missing_token_file_says_to_authorize(calendar: GoogleCalendarSandbox, tmp_path: Path) -> None:
    with pytest.raises(SourceAuthError) as caught:
        harvest(make(calendar, tmp_path / "absent.json"))
    assert "no Google token" in str(caught.value) and "brag auth google" in caught.value.fix


@pytest.mark.parametrize(
    ("status", "reason", "headers", "waited"),
    [
        (429, "rateLimitExceeded", {"Retry-After": "3"}, [3.0]),
        (403, "rateLimitExceeded", {}, [0.5]),
        (403, "userRateLimitExceeded", {}, [0.5]),
        (503, "backendError", {}, [0.5]),
    ],
)
def test_rate_limit_then_success(
    gcal: GoogleCalendarConnector,
    calendar: GoogleCalendarSandbox,
    sleeps: list[float],
    status: int,
    reason: str,
    headers: dict[str, str],
    waited: list[float],
) -> None:
    calendar.inject(status, headers=headers, body=google_error(status, reason), path_contains="/events")
    assert len(activities(harvest(gcal))) == len(HARVESTED)
    assert [r.status for r in calendar.requests] == [status, 200]
    assert sleeps == waited


def test_backoff_doubles_and_gives_up(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox, sleeps: list[float]
) -> None:
    calendar.inject(500, times=10, body=google_error(500), path_contains="/events")
    with pytest.raises(TransientError):
        harvest(gcal)
    assert calendar.count("/events") == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_wait_longer_than_allowed_is_a_rate_limit_error(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    calendar.inject(429, headers={"Retry-After": "3600"}, body=google_error(429), path_contains="/events")
    with pytest.raises(RateLimitError) as caught:
        harvest(make(calendar, token_file, max_rate_limit_wait=60))
    assert caught.value.wait_seconds == 3600


def test_forbidden_is_not_retried(
    gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox, sleeps: list[float]
) -> None:
    calendar.inject(403, body=google_error(403, "forbidden", "Forbidden"), path_contains="/events")
    with pytest.raises(SourceAuthError, match="403 forbidden"):
        harvest(gcal)
    assert sleeps == [] and calendar.count("/events") == 1


def test_unknown_calendar_names_the_setting(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    with pytest.raises(SourceConfigError) as caught:
        harvest(make(calendar, token_file, calendars=["nope@group.calendar.google.com"]))
    assert "[google_calendar] calendars" in caught.value.fix


def test_several_calendars_keep_their_own_tokens(calendar: GoogleCalendarSandbox, token_file: Path) -> None:
    calendar.add_calendar("team@group.calendar.google.com")
    calendar.put(
        CalendarEvent(
            "quarterly",
            "Quarterly planning",
            NOW - timedelta(days=3),
            NOW - timedelta(days=3, hours=-2),
            organizer="kim-data",
            attendees=(USER_LOGIN, "kim-data"),
            calendar="team@group.calendar.google.com",
        )
    )
    connector = make(calendar, token_file, calendars=["primary", "team@group.calendar.google.com"])
    streams = read_streams(connector, WINDOW)
    assert list(streams) == ["primary", "team@group.calendar.google.com"]
    assert cid("quarterly", "team@group.calendar.google.com") in activities(streams["team@group.calendar.google.com"])
    assert all(checkpoint(batches).state["sync_token"] for batches in streams.values())
    assert [r.path for r in calendar.requests] == [
        EVENTS,
        "/calendar/v3/calendars/team%40group.calendar.google.com/events",
    ]


def test_from_settings_through_the_entry_point(tmp_path: Path) -> None:
    settings = parse_settings(
        {
            "google_calendar": {
                "token_file": str(tmp_path / "t.json"),
                "skip": ["standup"],
                "api_endpoint": "http://127.0.0.1:9/calendar/v3/",
            }
        }
    )
    (connector,) = configured_connectors(settings, "google_calendar")
    assert isinstance(connector, GoogleCalendarConnector)
    assert connector.calendars == ("primary",) and connector.skip == ("standup",)
    assert connector.token_file == tmp_path / "t.json" and connector.include_descriptions is False


def test_event_without_self_attendee_counts_only_when_organized() -> None:
    base: dict[str, Any] = {
        "id": "x",
        "summary": "Team sync",
        "start": {"dateTime": "2026-11-02T10:00:00+01:00"},
        "end": {"dateTime": "2026-11-02T10:30:00+01:00"},
    }
    assert event_activity(base, "primary") is None
    organized = event_activity({**base, "organizer": {"self": True}}, "primary")
    assert organized is not None and organized.occurred_at.isoformat() == "2026-11-02T10:30:00+01:00"
    declined_own = {**base, "organizer": {"self": True}, "attendees": [{"self": True, "responseStatus": "declined"}]}
    assert event_activity(declined_own, "primary") is None
    rooms = {
        **base,
        "attendees": [{"self": True, "responseStatus": "accepted"}, {"resource": True, "responseStatus": "accepted"}],
    }
    activity = event_activity(rooms, "primary")
    assert activity is not None and activity.extra["attendee_count"] == 1


def test_runner_stores_deletes_and_survives_a_resync(
    sessions: sessionmaker[Session], user_id: int, gcal: GoogleCalendarConnector, calendar: GoogleCalendarSandbox
) -> None:
    runner = SyncRunner(sessions, user_id)
    (first,) = runner.run([gcal], now=NOW, since=WINDOW.start)
    assert first.ok and first.counts.new == len(HARVESTED)

    calendar.cancel("pay12meeting")
    (second,) = runner.run([gcal], now=NOW + timedelta(days=2))
    assert second.ok and second.counts.new == 1 and second.counts.deleted == 1  # sprint planning ended; review gone

    calendar.expire_sync_tokens()
    (third,) = runner.run([gcal], now=NOW + timedelta(days=3))
    assert third.ok and third.counts.new == 0 and third.counts.deleted == 0
    with sessions() as session:
        stored = {a.id for a in repository.list_activities(session, user_id, sources=["google_calendar"])}
    assert stored == {cid(e) for e in HARVESTED - {"pay12meeting"}} | {cid("sprintplanning")}


TEAM = "team@group.calendar.google.com"


def stream_cursor(sessions: sessionmaker[Session], user_id: int, calendar: str) -> Cursor | None:
    with sessions() as session:
        row = repository.load_cursor(session, user_id, "google_calendar", calendar)
        return Cursor(row.harvested_until, row.state) if row else None


def test_a_failing_calendar_neither_moves_nor_stops_the_other(
    sessions: sessionmaker[Session], user_id: int, calendar: GoogleCalendarSandbox, token_file: Path
) -> None:
    """Each calendar is a stream with its own cursor and sync token."""
    calendar.add_calendar(TEAM)
    connector = make(calendar, token_file, calendars=["primary", TEAM])
    runner = SyncRunner(sessions, user_id)
    (first,) = runner.run([connector], now=NOW, since=WINDOW.start)
    assert first.ok and first.counts.new == len(HARVESTED)
    team_before = stream_cursor(sessions, user_id, TEAM)
    assert team_before is not None and team_before.harvested_until == NOW and team_before.state["sync_token"]

    calendar.inject(403, body=google_error(403, "forbidden", "Forbidden"), path_contains="team%40group")
    (second,) = runner.run([connector], now=NOW + timedelta(days=2))
    assert not second.ok and second.failed_streams == [TEAM]
    assert second.error == f"access to calendar '{TEAM}' denied (403 forbidden: Forbidden)"
    assert second.fix is not None and "shared with you" in second.fix
    # the primary calendar went on: its sprint planning ended meanwhile, and its cursor moved
    assert second.counts.new == 1
    primary = stream_cursor(sessions, user_id, "primary")
    assert primary is not None and primary.harvested_until == NOW + timedelta(days=2)
    assert stream_cursor(sessions, user_id, TEAM) == team_before

    calendar.put(
        CalendarEvent(
            "quarterly",
            "Quarterly planning",
            NOW + timedelta(hours=20),
            NOW + timedelta(days=1),
            organizer="kim-data",
            attendees=(USER_LOGIN, "kim-data"),
            calendar=TEAM,
        )
    )
    calendar.clear_log()
    (third,) = runner.run([connector], now=NOW + timedelta(days=3))
    assert third.ok and third.counts.new == 1
    # the team calendar continues from the token it kept, not from a full sync
    team_listing = [r for r in calendar.requests if "team%40group" in r.path]
    assert [r.query.get("syncToken") for r in team_listing] == [[team_before.state["sync_token"]]]
    with sessions() as session:
        stored = {a.id for a in repository.list_activities(session, user_id, sources=["google_calendar"])}
    assert cid("quarterly", TEAM) in stored


def test_brag_auth_google_runs_the_installed_app_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.oauth2.credentials import Credentials
    from google_auth_oauthlib.flow import InstalledAppFlow
    from typer.testing import CliRunner

    from harvester.cli import app

    secrets = tmp_path / "client_secret.json"
    secrets.write_text("{}")
    token_file = tmp_path / "data" / "google-token.json"
    config = tmp_path / "brag.toml"
    config.write_text(f'[google_calendar]\nclient_secrets_file = "{secrets}"\ntoken_file = "{token_file}"\n')
    asked: dict[str, Any] = {}

    class FakeFlow:
        @classmethod
        def from_client_secrets_file(cls, path: str, scopes: list[str]) -> FakeFlow:
            asked.update(path=path, scopes=scopes)
            return cls()

        def run_local_server(self, port: int, open_browser: bool) -> Credentials:
            asked.update(port=port, open_browser=open_browser)
            return Credentials(
                "ya29.new", refresh_token="1//new", client_id="c", client_secret="s", token_uri="https://t.example"
            )

    monkeypatch.setattr(InstalledAppFlow, "from_client_secrets_file", FakeFlow.from_client_secrets_file)
    monkeypatch.setattr(InstalledAppFlow, "run_local_server", FakeFlow.run_local_server)
    result = CliRunner().invoke(app, ["--config", str(config), "auth", "google", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert asked == {
        "path": str(secrets),
        "scopes": ["https://www.googleapis.com/auth/calendar.readonly"],
        "port": 0,
        "open_browser": False,
    }
    assert json.loads(token_file.read_text())["refresh_token"] == "1//new"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_brag_auth_google_without_client_secrets_is_a_config_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harvester.cli import app

    config = tmp_path / "brag.toml"
    config.write_text(f'[google_calendar]\ntoken_file = "{tmp_path / "t.json"}"\n')
    result = CliRunner().invoke(app, ["--config", str(config), "auth", "google", "--no-browser"])
    assert result.exit_code == 2 and "client_secrets_file" in result.output
