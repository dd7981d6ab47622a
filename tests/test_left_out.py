"""Routine meetings on their own are left out of every candidate, with their rule, and can be pulled back in."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from review_support import MONDAY, NOW, WEEK, ZONE, config_file, open_context, seed
from typer.testing import CliRunner

from harvester.candidates import recluster_weeks
from harvester.clustering import load_pipeline
from harvester.context import Context
from harvester.records import Activity
from harvester.review import ReviewService
from harvester.store import repository
from harvester.web import create_app


def _event(event_id: str, title: str, hours: float, **extra: Any) -> Activity:
    return Activity(
        id=f"gcal:primary:{event_id}",
        source="google_calendar",
        kind="event",
        title=title,
        url=f"https://calendar.google.com/event?eid={event_id}",
        occurred_at=MONDAY + timedelta(hours=hours),
        extra={"attendee_count": 2, **extra},
    )


MEETINGS = (
    _event("one", "1:1 Dana / Morgan", 5),
    _event("standup", "Payments stand-up", 6, attendee_count=7, recurring=True),
    _event("private", "Private event", 7),
    _event("focus", "Prepare Q4 roadmap notes", 8, attendee_count=1),
    _event("design", "Design review: ledger sharding", 30, organized=True, attendee_count=6),
    _event("interview", "Interview: backend engineer", 31, organized=True, attendee_count=3),
)
ROUTINE = {f"gcal:primary:{name}" for name in ("one", "standup", "private", "focus")}


@pytest.fixture
def context(database_url: str) -> Context:
    context = open_context(database_url)
    seed(context.sessions, context.user_id)
    with context.sessions.begin() as session:
        repository.upsert_activities(session, context.user_id, MEETINGS)
    recluster_weeks(context.sessions, context.user_id, ZONE, [WEEK], load_pipeline(None))
    return context


def _candidates_json(tmp_path: Path, database_url: str) -> dict[str, Any]:
    from harvester.cli import app

    config = str(config_file(tmp_path, database_url))
    result = CliRunner().invoke(app, ["--config", config, "candidates", "--week", WEEK, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_routine_meetings_are_in_no_candidate_and_json_says_which_rule(
    context: Context, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    listed = _candidates_json(tmp_path, database_url)
    held = {item for candidate in listed["candidates"] for item in candidate["activity_ids"]}
    assert not held & ROUTINE
    rules = {entry["activity_id"]: entry["rule"] for entry in listed["left_out"]}
    assert rules == {
        "gcal:primary:one": "one_on_one",
        "gcal:primary:standup": "ritual",
        "gcal:primary:private": "private",
        "gcal:primary:focus": "focus",
    }
    assert all(entry["why"] and entry["week"] == WEEK for entry in listed["left_out"])
    # the design review and the interview stand alone too, but are worth naming: one roll-up
    (rollup,) = [c for c in listed["candidates"] if "gcal:primary:design" in c["activity_ids"]]
    assert sorted(rollup["activity_ids"]) == ["gcal:primary:design", "gcal:primary:interview"]
    assert rollup["title"] == "Led the design review of ledger sharding, interviewed a candidate"


def test_a_left_out_meeting_can_be_made_a_candidate_and_stays_one(context: Context) -> None:
    with context.sessions.begin() as session:
        made = ReviewService(session, context.user_id).include("gcal:primary:one", ZONE)
    assert made.activity_ids == ("gcal:primary:one",)
    # a later harvest re-clusters the week: the user's own candidate is kept, not set aside again
    recluster_weeks(context.sessions, context.user_id, ZONE, [WEEK], load_pipeline(None))
    with context.sessions() as session:
        row = repository.candidate_by_public_id(session, context.user_id, made.public_id)
        assert row is not None and row.week == WEEK and row.state == "pending"
        holders = repository.candidate_holders(session, context.user_id, ["gcal:primary:one"])
        assert holders == {"gcal:primary:one": {made.public_id}}
    with context.sessions.begin() as session:
        ReviewService(session, context.user_id).undo()
    with context.sessions() as session:
        assert repository.candidate_by_public_id(session, context.user_id, made.public_id) is None
        assert not repository.candidate_holders(session, context.user_id, ["gcal:primary:one"]).get("gcal:primary:one")


def test_an_item_already_in_a_candidate_is_not_included_twice(context: Context) -> None:
    from harvester.review import ReviewError

    with context.sessions.begin() as session, pytest.raises(ReviewError, match="already in c-"):
        ReviewService(session, context.user_id).include("jira:PAY-12", ZONE)


def test_the_week_page_lists_left_out_meetings_and_makes_a_candidate_of_one(context: Context) -> None:
    app = create_app(context, now=lambda: NOW)
    with app.test_client() as client:
        page = client.get(f"/week/{WEEK}").get_data(as_text=True)
        assert "Left out of every candidate" in page
        assert "4 meetings" in page
        assert "1:1 Dana / Morgan" in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        response = client.post("/include", data={"csrf_token": token.group(1), "activity_id": "gcal:primary:standup"})
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "3 meetings" in page
    with context.sessions() as session:
        holders = repository.candidate_holders(session, context.user_id, ["gcal:primary:standup"])
        assert holders.get("gcal:primary:standup")
