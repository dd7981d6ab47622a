"""Migration 0011: reviews stored before the subject fields existed get their PR's title and URL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, insert

from harvester.store import repository
from harvester.store.engine import _alembic_config, create_db_engine, open_store

SUBJECT_REVISION = "0011"
WHEN = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)


def stored_before_the_subject(url: str) -> None:
    """A database at the revision before 0011 holding a review and a ticket, as brag wrote them then."""
    config = _alembic_config()
    previous = ScriptDirectory.from_config(config).get_revision(SUBJECT_REVISION).down_revision
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, str(previous))
            tables = MetaData()
            users = Table("users", tables, autoload_with=connection)
            activities = Table("activities", tables, autoload_with=connection)
            user_id = connection.execute(
                insert(users).values(name="me", created_at=WHEN).returning(users.c.id)
            ).scalar_one()
            common = {
                "user_id": user_id,
                "body": "",
                "occurred_at": WHEN,
                "utc_offset_minutes": 0,
                "paths": [],
                "labels": [],
                "author": "me",
                "content_hash": "x",
                "first_seen_at": WHEN,
                "updated_at": WHEN,
            }
            review = {
                "source": "github",
                "external_id": "github:review:acme/api#7:1",
                "kind": "review",
                "title": "Reviewed: Refactor invoice PDF rendering",
                "repo": "acme/api",
                "url": "https://github.com/acme/api/pull/7#pullrequestreview-1",
                "extra": {"state": "APPROVED", "pull_request_url": "https://github.com/acme/api/pull/7"},
            }
            # a ticket whose summary happens to start like a review's title keeps its own
            ticket = {
                "source": "jira",
                "external_id": "jira:PAY-1",
                "kind": "ticket",
                "title": "Reviewed: the pricing page",
                "repo": "",
                "url": "",
                "extra": {},
            }
            connection.execute(insert(activities), [common | review, common | ticket])
    finally:
        engine.dispose()


def test_stored_reviews_get_their_subject_and_other_records_none(database_url: str) -> None:
    stored_before_the_subject(database_url)
    sessions = open_store(database_url)
    with sessions() as session:
        user = repository.get_or_create_user(session, "me")
        records = {a.id: a for a in repository.list_activities(session, user.id)}
    review, ticket = records["github:review:acme/api#7:1"], records["jira:PAY-1"]
    assert (review.subject_title, review.subject_url) == (
        "Refactor invoice PDF rendering",
        "https://github.com/acme/api/pull/7",
    )
    assert review.title == "Reviewed: Refactor invoice PDF rendering"
    assert (ticket.subject_title, ticket.subject_url) == ("", "")
