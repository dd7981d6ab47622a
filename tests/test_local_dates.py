"""Every place that shows a date shows the user's day: a PR merged Tuesday 00:30 in Berlin is Tuesday."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from digest_support import add_candidate, pr
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from harvester.cli.review_terminal import candidate_panel
from harvester.digest.outbox import load_digest
from harvester.documents import bragdoc
from harvester.documents.export import build, quarter_period
from harvester.documents.renderers import ExportFormat, render
from harvester.store import repository
from harvester.web.pages import week_page

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = "2026-W46"
# Monday 23:30 UTC, as GitHub answers it: Tuesday 00:30 in Berlin
LATE = datetime(2026, 11, 9, 23, 30, tzinfo=UTC)
TUESDAY = date(2026, 11, 10)


@pytest.fixture
def stored(sessions: sessionmaker[Session], user_id: int) -> None:
    with sessions.begin() as session:
        add_candidate(session, user_id, "c-pending", WEEK, [pr(104, "PAY-12 retry metrics", LATE)])
        add_candidate(session, user_id, "c-approved", WEEK, [pr(105, "PAY-12 retry alerts", LATE)], state="approved")


def test_digest_email_shows_the_users_day(sessions: sessionmaker[Session], user_id: int, stored: None) -> None:
    with sessions.begin() as session:
        digest = load_digest(session, user_id=user_id, user_name="me", week=WEEK, base_url="http://x", zone=BERLIN)
    assert [e.day for entry in digest.entries for e in entry.evidence] == [TUESDAY]


def test_brag_doc_and_exports_show_the_users_day(sessions: sessionmaker[Session], user_id: int, stored: None) -> None:
    with sessions() as session:
        entries = bragdoc.entries(session, user_id, BERLIN)
    assert [entry.day for entry in entries] == [TUESDAY]
    assert "(2026-11-10)" in bragdoc.render_markdown(entries)
    exported = render(build(entries, quarter_period("2026Q4")), ExportFormat.md).decode()
    assert "(2026-11-10)" in exported and "2026-11-09" not in exported


def test_review_page_and_terminal_show_the_users_day(
    sessions: sessionmaker[Session], user_id: int, stored: None
) -> None:
    with sessions() as session:
        page = week_page(session, user_id, WEEK, LATE, BERLIN)
        row = repository.candidate_by_public_id(session, user_id, "c-pending")
        assert row is not None
        items = repository.candidate_members(session, [row.id])[row.id]
    (view,) = [c for c in page.candidates if c.public_id == "c-pending"]
    assert [e.when for e in view.evidence] == ["Tue 10 Nov 00:30"]
    console = Console(record=True, width=120)
    console.print(candidate_panel(row, items, BERLIN))
    assert "Tue 10 Nov" in console.export_text()
