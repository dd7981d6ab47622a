"""Nothing lost, nothing twice: gone items, concurrent harvests, odd records, clustering that survives a kill."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from review_support import open_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from support import NOW
from typer.testing import CliRunner

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.candidates import recluster_weeks, weeks_of
from harvester.clustering import load_pipeline
from harvester.context import Context
from harvester.records import MAX_TITLE, Activity
from harvester.review import ReviewService
from harvester.sources import SINGLE_STREAM, Batch, Cursor
from harvester.store import repository
from harvester.store.models import ActivityRow, HarvestRun, SyncCursor
from harvester.sync import SyncRunner
from harvester.timeutil import Window

TUESDAY = datetime(2026, 11, 17, 10, tzinfo=UTC)
WEEK = "2026-W47"


class Scripted:
    """A connector that yields the batches it was given, like a source answering them."""

    name: ClassVar[str] = "calendar"
    cursor_overlap: ClassVar[timedelta] = timedelta(0)

    def __init__(self, *batches: Batch) -> None:
        self.batches = batches

    def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
        yield from self.batches


def record(key: str, title: str, *, hours: int = 0, repo: str = "") -> Activity:
    return Activity(
        id=f"calendar:{key}",
        source="calendar",
        kind="pull_request",
        title=title,
        occurred_at=TUESDAY + timedelta(hours=hours),
        repo=repo,
    )


PAYMENTS = record("pay", "PAY-12: Retry webhook deliveries with backoff", repo="acme/payments")
STYLES = record("css", "Move the marketing site's CSS build to Vite", hours=5, repo="acme/site")


@pytest.fixture
def app(database_url: str) -> Context:
    return open_context(database_url)


def stored_activities(sessions: sessionmaker[Session], user_id: int) -> list[Activity]:
    with sessions() as session:
        return repository.list_activities(session, user_id)


def holders(app: Context, activity_id: str) -> list[tuple[str, str]]:
    """(public id, state) of every live candidate holding the activity."""
    with app.sessions() as session:
        rows = [r for r in repository.candidate_rows(session, app.user_id) if r.state != "merged"]
        members = repository.candidate_members(session, [r.id for r in rows])
        return [(r.public_id, r.state) for r in rows if activity_id in {a.id for a in members[r.id]}]


def row_id(app: Context, activity_id: str) -> int:
    with app.sessions() as session:
        return repository.activity_row_ids(session, app.user_id, [activity_id])[activity_id]


def harvest(app: Context, *batches: Batch) -> list[str]:
    """Harvest, then re-cluster as `brag harvest` does; the weeks re-clustered."""
    results = SyncRunner(app.sessions, app.user_id).run([Scripted(*batches)], now=NOW)
    assert all(r.ok for r in results), results
    return [week.week for week in app.recluster_changed(results)]


def test_a_gone_item_keeps_its_approved_candidate_and_comes_back_on_the_same_row(app: Context) -> None:
    assert harvest(app, Batch((PAYMENTS, STYLES), checkpoint=Cursor(NOW))) == [WEEK]
    ((approved, _),) = holders(app, PAYMENTS.id)
    assert holders(app, STYLES.id) != [(approved, "pending")]
    with app.sessions.begin() as session:
        ReviewService(session, app.user_id).approve(approved)
    before = row_id(app, PAYMENTS.id)

    # the source says both are gone (a cancelled meeting): the deletion alone re-clusters the week
    assert harvest(app, Batch(deleted=(PAYMENTS.id, STYLES.id))) == [WEEK]
    assert holders(app, PAYMENTS.id) == [(approved, "approved")]
    assert holders(app, STYLES.id) == []
    with app.sessions() as session:
        assert repository.list_activities(session, app.user_id) == []
        rows = repository.candidate_rows(session, app.user_id)
        assert [r.public_id for r in rows] == [approved]  # the pending one holding only STYLES is gone

    # it comes back (retitled): the same row, so the approved entry still holds it
    harvest(app, Batch((replace(PAYMENTS, title="PAY-12: Retry (v2)"),), checkpoint=Cursor(NOW)))
    assert row_id(app, PAYMENTS.id) == before
    assert holders(app, PAYMENTS.id) == [(approved, "approved")]
    with app.sessions() as session:
        assert [a.title for a in repository.list_activities(session, app.user_id)] == ["PAY-12: Retry (v2)"]


def test_a_gone_item_is_counted_once(app: Context) -> None:
    runner = SyncRunner(app.sessions, app.user_id)
    runner.run([Scripted(Batch((PAYMENTS,), checkpoint=Cursor(NOW)))], now=NOW)
    (first,) = runner.run([Scripted(Batch(deleted=(PAYMENTS.id, "calendar:unknown")))], now=NOW)
    (again,) = runner.run([Scripted(Batch(deleted=(PAYMENTS.id,)))], now=NOW)
    assert (first.counts.deleted, again.counts.deleted) == (1, 0)


class Lockstep:
    """Yields the same batches as its twin in another thread, each batch at the same moment."""

    name: ClassVar[str] = "github"
    cursor_overlap: ClassVar[timedelta] = timedelta(0)

    def __init__(self, batches: list[Batch], barrier: threading.Barrier) -> None:
        self.batches = batches
        self.barrier = barrier

    def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
        for batch in self.batches:
            self.barrier.wait()
            yield batch


def test_two_concurrent_harvests_both_succeed_without_duplicates(sessions: sessionmaker[Session], user_id: int) -> None:
    batches = [
        Batch(
            tuple(
                Activity(
                    id=f"github:pr:acme/shop#{n}",
                    source="github",
                    kind="pull_request",
                    title=f"Change {n}",
                    occurred_at=NOW - timedelta(hours=n),
                )
                for n in range(page * 50, page * 50 + 50)
            ),
            checkpoint=Cursor(NOW - timedelta(days=1) + timedelta(minutes=page)),
        )
        for page in range(12)
    ]
    barrier = threading.Barrier(2, timeout=60)
    results: dict[str, object] = {}

    def harvest_in_thread(name: str) -> None:
        try:
            (results[name],) = SyncRunner(sessions, user_id).run([Lockstep(batches, barrier)], now=NOW)
        except BaseException as exc:  # a crash of either harvest is the failure this test looks for
            results[name] = exc
            barrier.abort()

    threads = [threading.Thread(target=harvest_in_thread, args=(name,)) for name in ("run", "harvest")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = list(results.values())
    assert all(getattr(r, "ok", False) for r in outcomes), outcomes
    counts = [r.counts for r in outcomes]  # type: ignore[attr-defined]
    assert [c.total for c in counts] == [600, 600]
    assert sum(c.new for c in counts) == 600 and sum(c.updated for c in counts) == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ActivityRow)) == 600
        assert session.scalar(select(func.count()).select_from(SyncCursor)) == 1
        assert sorted(session.scalars(select(HarvestRun.status))) == ["ok", "ok"]


def test_a_huge_title_is_bounded_once_and_clustering_still_works(
    sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox, connector: GitHubConnector
) -> None:
    github.scenario.pull_requests[0].title = "Retry webhook deliveries " + "x" * 1_000_130
    github.scenario.pull_requests[1].title = "Fix the flaky login test " + "y" * 30_000
    (result,) = SyncRunner(sessions, user_id).run([connector], now=NOW, since=NOW - timedelta(weeks=4))
    assert result.ok
    (note,) = [note for note in result.notes if "longer than brag keeps" in note]
    assert note.startswith("2 record(s)")
    stored = stored_activities(sessions, user_id)
    assert max(len(a.title) for a in stored) == MAX_TITLE
    assert any(a.title.startswith("Retry webhook deliveries xxx") for a in stored)
    # spaCy refuses a text over 1,000,000 characters (E088); the bounded records cluster
    weeks = recluster_weeks(sessions, user_id, UTC, weeks_of(stored, UTC), load_pipeline(None))
    assert sum(week.candidates for week in weeks) > 0


def test_nul_bytes_and_long_event_ids_are_stored(sessions: sessionmaker[Session], user_id: int) -> None:
    long_id = "google_calendar:primary:" + "a" * 1_024 + "_20261117T100000Z"
    odd = (
        Activity(
            id="calendar:nul",
            source="calendar",
            kind="pull_request",
            title="Fix\x00 the build",
            body="log:\x00\x00",
            labels=("bug\x00",),
            occurred_at=TUESDAY,
            extra={"note": "a\x00b"},
        ),
        Activity(id=long_id, source="calendar", kind="event", title="Planning", occurred_at=TUESDAY),
    )
    (result,) = SyncRunner(sessions, user_id).run([Scripted(Batch(odd, checkpoint=Cursor(NOW)))], now=NOW)
    assert result.ok and result.counts.new == 2, result
    by_id = {a.id: a for a in stored_activities(sessions, user_id)}
    assert set(by_id) == {"calendar:nul", long_id}
    nul = by_id["calendar:nul"]
    assert (nul.title, nul.body, nul.labels, dict(nul.extra)) == ("Fix the build", "log:", ("bug",), {"note": "ab"})


def test_a_record_the_database_refuses_is_set_aside_and_the_rest_lands(
    database_url: str, sessions: sessionmaker[Session], user_id: int
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("sqlite stores strings of any length, so it refuses nothing here")
    too_long = "calendar:" + "z" * 5_000
    batch = Batch(
        (PAYMENTS, Activity(id=too_long, source="calendar", kind="event", title="Odd", occurred_at=TUESDAY), STYLES),
        checkpoint=Cursor(NOW),
    )
    (result,) = SyncRunner(sessions, user_id).run([Scripted(batch)], now=NOW)
    assert result.ok and result.counts.new == 2
    (note,) = [n for n in result.notes if "set aside" in n]
    assert "calendar:zzz" in note and "cannot store" in note
    assert {a.id for a in stored_activities(sessions, user_id)} == {PAYMENTS.id, STYLES.id}
    with sessions() as session:
        cursor = repository.load_cursor(session, user_id, "calendar", SINGLE_STREAM)
        assert cursor is not None and cursor.harvested_until == NOW


def test_items_stored_by_a_run_that_died_before_clustering_are_grouped_by_brag_candidates(
    tmp_path: Path, github: GitHubSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harvester.clustering
    from harvester.cli import app as cli

    config = tmp_path / "brag.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "brag.db"}"\n[user]\ntimezone = "Europe/Berlin"\n'
        f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{github.base_url}"\n'
    )
    real_pipeline = harvester.clustering.load_pipeline

    def out_of_memory(model: str | None = None) -> None:
        raise MemoryError

    monkeypatch.setattr(harvester.clustering, "load_pipeline", out_of_memory)
    died = CliRunner().invoke(
        cli, ["--config", str(config), "harvest", "--since", "2026-10-23", "--until", "2026-11-20"]
    )
    assert isinstance(died.exception, MemoryError)

    monkeypatch.setattr(harvester.clustering, "load_pipeline", real_pipeline)
    listed = CliRunner().invoke(cli, ["--config", str(config), "candidates", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    grouped = [i for c in json.loads(listed.stdout)["candidates"] for i in c["activity_ids"]]
    activities = CliRunner().invoke(cli, ["--config", str(config), "activities", "--format", "jsonl"])
    harvested = [json.loads(line)["id"] for line in activities.stdout.splitlines()]
    assert len(harvested) == 15 and sorted(grouped) == sorted(harvested)

    # nothing is due now, so listing again never loads spaCy
    monkeypatch.setattr(harvester.clustering, "load_pipeline", out_of_memory)
    again = CliRunner().invoke(cli, ["--config", str(config), "candidates", "--format", "json"])
    assert again.exit_code == 0 and json.loads(again.stdout) == json.loads(listed.stdout)
