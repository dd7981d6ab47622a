"""Candidates stored directly through the repository, for the digest and mailer tests (no clustering)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from harvester.config import EmailSettings
from harvester.records import Activity
from harvester.store import repository
from harvester.store.models import CandidateRow

WEEK = "2026-W46"
MONDAY = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
EVIL_TITLE = "<script>alert(1)</script>\nBcc: evil@x"
BASE_URL = "http://127.0.0.1:8765"


def pr(number: int, title: str, when: datetime, url: str | None = None) -> Activity:
    return Activity(
        id=f"github:acme/shop#{number}",
        source="github",
        kind="pull_request",
        title=title,
        url=url if url is not None else f"https://github.com/acme/shop/pull/{number}",
        occurred_at=when,
        repo="acme/shop",
    )


def add_candidate(
    session: Session,
    user_id: int,
    public_id: str,
    week: str,
    activities: list[Activity],
    *,
    title: str = "Retry card payments",
    state: str = "pending",
    metrics: list[dict[str, Any]] | None = None,
) -> None:
    repository.upsert_activities(session, user_id, activities)
    row = CandidateRow(
        user_id=user_id,
        public_id=public_id,
        week=week,
        title=title,
        summary="Retries card payments that time out.",
        section="Projects",
        why="both name PAY-12",
        metrics=metrics or [],
        state=state,
    )
    session.add(row)
    session.flush()
    ids = repository.activity_row_ids(session, user_id, [a.id for a in activities])
    repository.set_candidate_members(session, row, ids.values())


def seed(sessions: sessionmaker[Session], user_id: int) -> None:
    """Two pending candidates in W46 (one with the hostile PR title), one pending in W44, one approved."""
    with sessions.begin() as session:
        add_candidate(
            session,
            user_id,
            "c-pay",
            WEEK,
            [pr(101, "PAY-12 retry on timeout", MONDAY), pr(102, "PAY-12 dashboard", MONDAY + timedelta(days=1))],
            metrics=[{"text": "from 4% to 1%"}],
        )
        add_candidate(
            session, user_id, "c-evil", WEEK, [pr(103, EVIL_TITLE, MONDAY + timedelta(days=2))], title=EVIL_TITLE
        )
        add_candidate(session, user_id, "c-old", "2026-W44", [pr(90, "Old work", MONDAY - timedelta(weeks=2))])
        add_candidate(
            session, user_id, "c-done", WEEK, [pr(104, "Done already", MONDAY + timedelta(days=3))], state="approved"
        )


def email_settings(port: int, **overrides: Any) -> EmailSettings:
    data: dict[str, Any] = {
        "to": "me@acme.com",
        "from": "Brag Harvester <brag@acme.com>",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
    }
    data.update(overrides)
    return EmailSettings.model_validate(data)
