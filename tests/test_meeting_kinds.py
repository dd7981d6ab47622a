"""Meeting kinds the labelled weeks (benchmarks/digest_noise.py) found misread."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harvester.clustering.meetings import classify
from harvester.records import Activity


def meeting(title: str, attendees: int, *, organized: bool = False, recurring: bool = False) -> Activity:
    return Activity(
        id=f"google_calendar:primary:{title}",
        source="google_calendar",
        kind="event",
        title=title,
        occurred_at=datetime(2026, 10, 14, 15, tzinfo=UTC),
        extra={"attendee_count": attendees, "organized": organized, "recurring": recurring},
    )


@pytest.mark.parametrize(
    ("title", "attendees", "kind"),
    [
        # a block to get ready for a talk or an interview is not the talk or the interview
        ("Prep: tech talk slides", 0, "focus"),
        ("Interview prep", 1, "focus"),
        ("Preparing the workshop", 0, "focus"),
        # every sprint meeting is the team's ritual, whatever its number
        ("Sprint 41 review", 10, "ritual"),
        ("Sprint 42 planning", 8, "ritual"),
        ("Payments team sync", 6, "ritual"),
        ("Coffee chat with Priya", 2, "ritual"),
        ("Company town hall", 150, "ritual"),
    ],
)
def test_routine_meetings_are_counted_never_named(title: str, attendees: int, kind: str) -> None:
    found = classify(meeting(title, attendees))
    assert (found.kind, found.routine, found.named) == (kind, True, False)


def test_a_sync_about_a_piece_of_work_is_not_a_ritual() -> None:
    # it may join the work it is about; alone it is counted, and never hidden as routine evidence
    found = classify(meeting("CI migration sync", 4))
    assert (found.kind, found.routine) == ("other", False)


def test_the_talk_and_the_interview_themselves_are_still_named() -> None:
    assert classify(meeting("Tech talk: how search ranking works", 40, organized=True)).kind == "talk"
    assert classify(meeting("Phone screen: Staff Engineer candidate", 2)).kind == "interview"


def test_a_series_the_user_hosts_for_many_is_a_ritual_a_one_off_is_named() -> None:
    one_off = meeting("Search roadmap Q1 kickoff", 14, organized=True)
    series = meeting("Search guild", 14, organized=True, recurring=True)
    assert (classify(one_off).kind, classify(one_off).named) == ("large", True)
    assert (classify(series).kind, classify(series).named) == ("ritual", False)
