"""The review page and `brag candidates` list a week in the digest's order: work best first, meetings after."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from digest_support import MONDAY, WEEK, add_candidate, pr
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from harvester.cli import app
from harvester.clustering.model import STORED_KEYS
from harvester.config import load_config
from harvester.records import Activity
from harvester.store import repository
from harvester.store.engine import open_store
from harvester.web.pages import week_page

runner = CliRunner()
# stored oldest first in this order; the ranking must not follow it
STORED = ["c-small", "c-meeting", "c-incident", "c-story"]
RANKED = ["c-incident", "c-story", "c-small", "c-meeting"]


def ticket(key: str, **extra: object) -> Activity:
    return Activity(id=f"jira:{key}", source="jira", kind="ticket", title=key, occurred_at=MONDAY, extra=extra)


def seed(sessions: sessionmaker[Session], user_id: int) -> None:
    standup = Activity(
        id="google_calendar:e1",
        source="google_calendar",
        kind="event",
        title="Design review: ledger",
        occurred_at=MONDAY,
        extra={"attendee_count": 6, "organized": True},
    )
    members = {
        "c-small": [pr(201, "Tidy module", MONDAY)],
        "c-meeting": [standup],
        "c-incident": [pr(202, "Lock refunds", MONDAY), ticket("PAY-31", issue_type="Bug", priority="Highest")],
        "c-story": [pr(203, "Webhook retries", MONDAY), ticket("PAY-12", issue_type="Story")],
    }
    for public_id in STORED:
        with sessions.begin() as session:
            add_candidate(session, user_id, public_id, WEEK, members[public_id], title=public_id)
    with sessions.begin() as session:
        # as a finished clustering run leaves them: `brag candidates` then reads the stored candidates as they are
        marks = repository.clustering_marks(session, user_id, MONDAY - timedelta(days=1), MONDAY + timedelta(days=7))
        repository.clear_clustering_marks(session, marks)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, sessionmaker[Session], int]:
    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    path = tmp_path / "brag.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n[user]\ntimezone = "UTC"\n')
    sessions = open_store(load_config(path).database_url())
    with sessions.begin() as session:
        user_id = repository.get_or_create_user(session, "me", "UTC").id
    seed(sessions, user_id)
    return path, sessions, user_id


def test_the_review_page_lists_the_week_by_significance(config: tuple[Path, sessionmaker[Session], int]) -> None:
    _, sessions, user_id = config
    with sessions() as session:
        page = week_page(session, user_id, WEEK, MONDAY + timedelta(days=3), UTC)
    assert [c.public_id for c in page.candidates] == RANKED


def test_brag_candidates_lists_them_in_the_same_order_and_shape(
    config: tuple[Path, sessionmaker[Session], int],
) -> None:
    path, _, _ = config
    for args in (["--week", WEEK], []):
        result = runner.invoke(app, ["--config", str(path), "candidates", *args, "--format", "json"])
        assert result.exit_code == 0, result.output
        listed = json.loads(result.output)["candidates"]
        assert [c["id"] for c in listed] == RANKED
        assert tuple(listed[0]) == STORED_KEYS
    table = runner.invoke(app, ["--config", str(path), "candidates", "--week", WEEK])
    positions = [table.output.index(public_id) for public_id in RANKED]
    assert positions == sorted(positions)
