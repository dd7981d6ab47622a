"""Ranking a week's candidates: real wins above routine, and the reasons say why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from harvester.clustering.meetings import classify
from harvester.clustering.model import Metric
from harvester.clustering.significance import significance
from harvester.records import Activity

WHEN = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def item(kind: str, title: str, *, labels: tuple[str, ...] = (), body: str = "", **extra: Any) -> Activity:
    return Activity(
        id=f"x:{kind}:{title}",
        source="x",
        kind=kind,
        title=title,
        body=body,
        occurred_at=WHEN,
        labels=labels,
        extra=extra,
    )  # type: ignore[arg-type]


def meeting(title: str, attendees: int = 4, organized: bool = False) -> Activity:
    return item("event", title, attendee_count=attendees, organized=organized)


@pytest.mark.parametrize(
    ("title", "attendees", "kind", "named"),
    [
        ("1:1 Dana / Morgan", 2, "one_on_one", False),
        ("Private event", 0, "private", False),
        ("Prepare Q4 roadmap notes", 0, "focus", False),
        ("Team standup", 7, "ritual", False),
        ("Sprint planning", 9, "ritual", False),
        ("Ledger lag review", 0, "solo", False),
        ("Ledger lag review", 5, "other", False),
        ("Incident bridge: payouts stuck in PENDING", 12, "incident", True),
        ("Postmortem: double refunds", 6, "postmortem", True),
        ("Incident review: webhook storm", 6, "postmortem", True),
        ("Interview: backend engineer (system design)", 2, "interview", True),
        ("Tech talk: idempotency keys", 40, "talk", True),
        ("Design review: idempotent payouts", 5, "design_review", True),
        ("Kafka workshop for the platform team", 15, "training", True),
    ],
)
def test_meetings_are_named_or_counted_by_kind(title: str, attendees: int, kind: str, named: bool) -> None:
    found = classify(meeting(title, attendees))
    assert (found.kind, found.named) == (kind, named)


def test_a_meeting_the_user_organised_for_many_is_named() -> None:
    assert classify(meeting("Payments roadmap", attendees=12, organized=True)).named
    assert not classify(meeting("Payments roadmap", attendees=12, organized=False)).named


def test_confirmed_measured_high_priority_work_outranks_a_lone_pull_request_and_a_1_1() -> None:
    pr = item("pull_request", "Fix double refunds on concurrent requests", body="p99 from 300 ms to 120 ms")
    ticket = item("ticket", "Double refunds", issue_type="Bug", priority="High", story_points=5, epic="PAY-1")
    postmortem = meeting("Postmortem: double refunds", attendees=6)
    work = [pr, ticket, postmortem]
    change = Metric("latency", "p99 from 300 ms to 120 ms", pr.id, "body", 0, 25, "ms", 120.0, 300.0, 120.0)
    strong = significance(work, [change])
    lone = significance([item("pull_request", "Bump lint config")])
    one_on_one = significance([meeting("1:1 Dana / Morgan", attendees=2)])
    assert strong.score > lone.score > one_on_one.score
    assert "confirmed by PR + ticket + meeting" in strong.reasons
    assert "high priority" in strong.reasons and "5 story points" in strong.reasons
    assert any(reason.startswith("measured: ") and "300" in reason for reason in strong.reasons)
    assert lone.reasons == () and one_on_one.reasons == ()


def test_labels_that_managers_ask_about_raise_the_score() -> None:
    plain = significance([item("pull_request", "Rotate keys")])
    security = significance([item("pull_request", "Rotate keys", labels=("security", "infra"))])
    assert security.score > plain.score and "security" in security.reasons


def test_reviews_with_changes_requested_and_comments_count_more() -> None:
    quick = [item("review", f"Reviewed: PR {n}", state="APPROVED", comments=0) for n in range(3)]
    careful = [item("review", f"Reviewed: PR {n}", state="CHANGES_REQUESTED", comments=6) for n in range(3)]
    assert significance(careful).score > significance(quick).score
    assert "changes requested on 3" in significance(careful).reasons
