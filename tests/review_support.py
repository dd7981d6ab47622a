"""A small reviewed week for the review tests: real activities, clustered by the real pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from harvester.candidates import recluster_weeks
from harvester.clustering import load_pipeline
from harvester.config import LoadedConfig, parse_settings
from harvester.context import Context
from harvester.records import Activity
from harvester.store import repository

ZONE = ZoneInfo("Europe/Berlin")
# Monday of 2026-W46 and of the week before, mid-morning in Berlin
WEEK = "2026-W46"
EARLIER_WEEK = "2026-W45"
MONDAY = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
XSS_TITLE = "<script>alert(1)</script> Fix the login\nform"
XSS_URL = "javascript:alert(document.cookie)"
# Friday of 2026-W47: W46 is last week, W45 the week before
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _pr(number: int, title: str, when: datetime, body: str = "", url: str | None = None) -> Activity:
    return Activity(
        id=f"github:acme/shop#{number}",
        source="github",
        kind="pull_request",
        title=title,
        body=body,
        url=url or f"https://github.com/acme/shop/pull/{number}",
        occurred_at=when,
        repo="acme/shop",
    )


def _ticket(key: str, title: str, when: datetime) -> Activity:
    return Activity(
        id=f"jira:{key}",
        source="jira",
        kind="ticket",
        title=title,
        url=f"https://acme.atlassian.net/browse/{key}",
        occurred_at=when,
        extra={"key": key},
    )


ACTIVITIES = (
    # one ticket and the two pull requests that name it: a candidate of three items
    _ticket("PAY-12", "Retry failed card payments", MONDAY),
    _pr(101, "PAY-12 retry card payments on timeout", MONDAY + timedelta(hours=3), "Cuts failures from 4% to 1%"),
    _pr(102, "PAY-12 add retry metrics dashboard", MONDAY + timedelta(days=1)),
    # unrelated work, each alone
    _pr(103, XSS_TITLE, MONDAY + timedelta(days=2), url=XSS_URL),
    _ticket("OPS-7", "Rotate the staging database credentials", MONDAY + timedelta(days=3)),
    # a week earlier, never reviewed
    _pr(90, "Upgrade the search index to v8", MONDAY - timedelta(days=6)),
)


@dataclass(frozen=True)
class Seeded:
    """Public ids of the seeded candidates, found by one of their items."""

    payments: str
    xss: str
    credentials: str
    earlier: str


def seed(sessions: sessionmaker[Session], user_id: int, activities: Sequence[Activity] = ACTIVITIES) -> Seeded:
    """Store `activities` (ACTIVITIES or a copy of them, such as `renamed`'s) and cluster them."""
    with sessions.begin() as session:
        repository.upsert_activities(session, user_id, activities)
    recluster_weeks(sessions, user_id, ZONE, [EARLIER_WEEK, WEEK], load_pipeline(None))
    with sessions() as session:
        return Seeded(
            payments=candidate_holding(session, user_id, activities[0].id),
            xss=candidate_holding(session, user_id, activities[3].id),
            credentials=candidate_holding(session, user_id, activities[4].id),
            earlier=candidate_holding(session, user_id, activities[5].id),
        )


def renamed(marker: str) -> tuple[Activity, ...]:
    """ACTIVITIES as another person's: other ids, keys and repository, and `marker` in every title.

    Clustered, they give the same shape of week with other candidate ids, so a second user's
    data can be told apart from the first's in any page.
    """
    slug = marker.lower()
    key = marker[:3].upper()

    def rename(text: str) -> str:
        return text.replace("acme/shop", f"{slug}/den").replace("PAY-", f"{key}-").replace("OPS-", f"{key}O-")

    return tuple(
        replace(
            activity,
            id=rename(activity.id),
            title=f"{rename(activity.title)} {marker}",
            url=rename(activity.url),
            repo=f"{slug}/den" if activity.repo else activity.repo,
            extra={name: rename(value) if name == "key" else value for name, value in activity.extra.items()},
        )
        for activity in ACTIVITIES
    )


def harvest_new_payments_pr(sessions: sessionmaker[Session], user_id: int) -> None:
    """A later harvest brings a PR naming PAY-12, so re-clustering regroups the payments work."""
    pr = replace(
        ACTIVITIES[1], id="github:acme/shop#104", title="PAY-12 alert on retry storms", body="", occurred_at=MONDAY
    )
    with sessions.begin() as session:
        repository.upsert_activities(session, user_id, [replace(pr, url="https://github.com/acme/shop/pull/104")])


def candidate_holding(session: Session, user_id: int, activity_id: str) -> str:
    """The public id of the live candidate that holds an activity."""
    rows = [r for r in repository.candidate_rows(session, user_id) if r.state != "merged"]
    members = repository.candidate_members(session, [r.id for r in rows])
    (found,) = [r.public_id for r in rows if activity_id in {a.id for a in members[r.id]}]
    return found


def open_context(database_url: str) -> Context:
    settings = parse_settings({"database": {"url": database_url}, "user": {"name": "me", "timezone": "Europe/Berlin"}})
    return Context.open(LoadedConfig(settings=settings, path=None))


def config_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[user]\nname = "me"\ntimezone = "Europe/Berlin"\n')
    return path
