"""The sync runner: idempotent upserts, cursors saved with their records, one failing source isolated."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from functools import partial
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from streams_support import read_all
from support import NOW

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.errors import SourceAuthError
from harvester.records import Activity
from harvester.sandbox.scenario import Scenario
from harvester.sources import SINGLE_STREAM, Batch, Cursor, Stream
from harvester.store import repository
from harvester.store.models import ActivityRow, HarvestRun
from harvester.sync import Prefetched, SyncRunner, harvest_window, next_cursor
from harvester.timeutil import Window


def stored(sessions: sessionmaker[Session], user_id: int) -> list[Activity]:
    with sessions() as session:
        return repository.list_activities(session, user_id)


def cursor_of(
    sessions: sessionmaker[Session], user_id: int, source: str, stream: str = "pull_requests"
) -> Cursor | None:
    with sessions() as session:
        row = repository.load_cursor(session, user_id, source, stream)
        return Cursor(row.harvested_until, row.state) if row else None


def test_same_window_twice_adds_and_changes_nothing(
    sessions: sessionmaker[Session], user_id: int, connector: GitHubConnector
) -> None:
    runner = SyncRunner(sessions, user_id)
    since = NOW - timedelta(weeks=4)
    (first,) = runner.run([connector], now=NOW, since=since)
    before = stored(sessions, user_id)
    (second,) = runner.run([connector], now=NOW, since=since)
    assert (first.counts.new, first.counts.updated) == (15, 0)
    assert (second.counts.new, second.counts.updated, second.counts.unchanged) == (0, 0, 15)
    assert stored(sessions, user_id) == before


def test_retitled_pull_request_is_updated_in_place(
    sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox, connector: GitHubConnector
) -> None:
    runner = SyncRunner(sessions, user_id)
    since = NOW - timedelta(weeks=4)
    runner.run([connector], now=NOW, since=since)
    github.scenario.pull_requests[0].title = "PAY-12: Retry webhook deliveries (retitled)"
    (result,) = runner.run([connector], now=NOW, since=since)
    assert (result.counts.new, result.counts.updated) == (0, 1)
    titles = [a.title for a in stored(sessions, user_id)]
    assert "PAY-12: Retry webhook deliveries (retitled)" in titles and len(titles) == 15
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ActivityRow)) == 15


def test_records_read_back_exactly_as_harvested(
    sessions: sessionmaker[Session], user_id: int, connector: GitHubConnector
) -> None:
    SyncRunner(sessions, user_id).run([connector], now=NOW, since=NOW - timedelta(weeks=4))
    harvested = read_all(connector, Window(NOW - timedelta(weeks=4), NOW))
    expected = sorted((a for b in harvested for a in b.activities), key=lambda a: (a.occurred_at, a.id))
    assert stored(sessions, user_id) == expected


def test_default_window_continues_from_cursor_with_overlap(
    sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox, connector: GitHubConnector
) -> None:
    runner = SyncRunner(sessions, user_id)
    (first,) = runner.run([connector], now=NOW - timedelta(days=2))
    assert first.window == Window(NOW - timedelta(days=9), NOW - timedelta(days=2))
    assert cursor_of(sessions, user_id, "github") == Cursor(NOW - timedelta(days=2), {})
    (second,) = runner.run([connector], now=NOW)
    assert second.window == Window(NOW - timedelta(days=2, hours=1), NOW)
    assert cursor_of(sessions, user_id, "github") == Cursor(NOW, {})


def test_explicit_window_after_the_cursor_does_not_move_it() -> None:
    stored_cursor = Cursor(NOW - timedelta(days=10))
    window = Window(NOW - timedelta(days=3), NOW)
    assert next_cursor(stored_cursor, Cursor(NOW), window) is None
    assert next_cursor(stored_cursor, Cursor(NOW), Window(NOW - timedelta(days=12), NOW)) == Cursor(NOW)
    assert next_cursor(Cursor(NOW), Cursor(NOW - timedelta(days=5)), Window(NOW - timedelta(days=9), NOW)) is None
    assert next_cursor(None, Cursor(NOW), window) == Cursor(NOW)


def test_first_run_looks_back_seven_days() -> None:
    assert harvest_window(None, timedelta(hours=1), NOW, None, None) == Window(NOW - timedelta(days=7), NOW)


class CrashingConnector:
    """Yields the real connector's batches, then dies like a killed process would after `after` batches."""

    name: ClassVar[str] = "github"

    def __init__(self, inner: GitHubConnector, after: int) -> None:
        self.inner = inner
        self.after = after

    def streams(self) -> tuple[Stream, ...]:
        (pulls,) = self.inner.streams()
        return (replace(pulls, read=partial(self._crashing, pulls)),)

    def _crashing(self, pulls: Stream, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
        for index, batch in enumerate(pulls.read(window, cursor)):
            if index == self.after:
                raise KeyboardInterrupt
            yield batch


def test_crash_mid_harvest_resumes_without_gaps_or_duplicates(sessions: sessionmaker[Session], user_id: int) -> None:
    start = NOW - timedelta(days=30)
    with GitHubSandbox(Scenario.bulk(2500, start, NOW)) as server:
        inner = GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url, reviews=False)
        runner = SyncRunner(sessions, user_id)
        with pytest.raises(KeyboardInterrupt):
            runner.run([CrashingConnector(inner, after=12)], now=NOW, since=start)
        with sessions() as session:
            (run,) = session.scalars(select(HarvestRun))
        # ctrl-c is recorded as such, never left `running`
        assert (run.status, run.error, run.finished_at is not None) == (
            "interrupted",
            "interrupted before it finished",
            True,
        )
        assert run.new > 0
        saved = cursor_of(sessions, user_id, "github")
        assert saved is not None and saved.harvested_until is not None
        assert start < saved.harvested_until < NOW
        saved_before = {a.id for a in stored(sessions, user_id)}
        # everything before the saved cursor is stored: the cursor never runs ahead of the records
        expected_before = {
            f"github:pr:{pr.repo}#{pr.number}"
            for pr in server.scenario.pull_requests
            if pr.merged_at and pr.merged_at < saved.harvested_until
        }
        assert expected_before <= saved_before
        (result,) = runner.run([inner], now=NOW)
        assert result.ok
        ids = [a.id for a in stored(sessions, user_id)]
        assert len(ids) == len(set(ids)) == 2500


class RecordingWindows:
    """The real connector, noting the window each of its streams was asked to read."""

    name: ClassVar[str] = "github"

    def __init__(self, inner: GitHubConnector) -> None:
        self.inner = inner
        self.windows: dict[str, Window] = {}

    def streams(self) -> tuple[Stream, ...]:
        return tuple(replace(stream, read=partial(self._read, stream)) for stream in self.inner.streams())

    def _read(self, stream: Stream, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
        self.windows[stream.name] = window
        yield from stream.read(window, cursor)


# GitHub answers a GraphQL error with HTTP 200 and an `errors` list (documented)
GRAPHQL_NOT_FOUND = {
    "data": {"user": None},
    "errors": [{"type": "NOT_FOUND", "path": ["user"], "message": "Could not resolve to a User."}],
}


def test_reviews_failure_holds_back_only_the_reviews_cursor(
    sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox, connector: GitHubConnector
) -> None:
    runner = SyncRunner(sessions, user_id)
    recording = RecordingWindows(connector)
    week_ago, two_days_ago = NOW - timedelta(days=7), NOW - timedelta(days=2)
    (first,) = runner.run([recording], now=week_ago, since=NOW - timedelta(weeks=4))
    assert first.ok and first.notes == []

    github.inject(200, body=GRAPHQL_NOT_FOUND, path_contains="/graphql")
    (second,) = runner.run([recording], now=two_days_ago)
    assert second.ok and second.failed_streams == []
    (note,) = second.notes
    assert note.startswith("reviews were not harvested: ") and "NOT_FOUND" in note
    assert cursor_of(sessions, user_id, "github", "pull_requests") == Cursor(two_days_ago, {})
    assert cursor_of(sessions, user_id, "github", "reviews") == Cursor(week_ago, {})

    (third,) = runner.run([recording], now=NOW)
    assert third.ok and third.notes == []
    # each stream reads from its own cursor, less the overlap: the reviews catch up on what they missed
    assert recording.windows == {
        "pull_requests": Window(two_days_ago - timedelta(hours=1), NOW),
        "reviews": Window(week_ago - timedelta(hours=1), NOW),
    }
    assert third.window == Window(week_ago - timedelta(hours=1), NOW)
    assert cursor_of(sessions, user_id, "github", "reviews") == Cursor(NOW, {})
    once = {a.id for batch in read_all(connector, Window(NOW - timedelta(weeks=4), NOW)) for a in batch.activities}
    assert {a.id for a in stored(sessions, user_id)} == once


def test_a_failure_every_stream_shares_is_reported_once(
    sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox
) -> None:
    connector = GitHubConnector("not-the-token", base_url=github.base_url)
    (result,) = SyncRunner(sessions, user_id).run([connector], now=NOW)
    assert result.failed_streams == ["pull_requests", "reviews"]
    assert result.error is not None and result.error.startswith("the token was refused (401")
    assert ";" not in result.error
    # the second stream reuses the first one's failed GET /user instead of asking again
    assert github.count("/user") == 1


def test_one_failing_source_does_not_stop_the_others(
    sessions: sessionmaker[Session], user_id: int, github: GitHubSandbox, connector: GitHubConnector
) -> None:
    class Broken:
        name: ClassVar[str] = "broken"
        cursor_overlap: ClassVar[timedelta] = timedelta(0)

        def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
            raise SourceAuthError("broken", "token expired", fix="run brag auth broken")
            yield Batch()

    broken_result, github_result = SyncRunner(sessions, user_id).run([Broken(), connector], now=NOW)
    assert not broken_result.ok and broken_result.error == "token expired"
    assert broken_result.fix == "run brag auth broken"
    assert github_result.ok and github_result.counts.new > 0
    assert cursor_of(sessions, user_id, "broken", SINGLE_STREAM) is None
    with sessions() as session:
        statuses = sorted(session.scalars(select(HarvestRun.status)))
    assert statuses == ["failed", "ok"]


def test_activity_with_offset_keeps_it(sessions: sessionmaker[Session], user_id: int) -> None:
    from datetime import datetime, timezone

    when = datetime(2026, 11, 3, 14, 2, 11, tzinfo=timezone(timedelta(hours=-5)))
    record = Activity(id="x:1", source="x", kind="event", title="Design review", occurred_at=when, extra={"n": 3})
    with sessions.begin() as session:
        repository.upsert_activities(session, user_id, [record, replace(record)])
    (back,) = stored(sessions, user_id)
    assert back == record and back.occurred_at.isoformat() == "2026-11-03T14:02:11-05:00"


def test_deleted_items_leave_the_activity_list_with_their_batch(sessions: sessionmaker[Session], user_id: int) -> None:
    from datetime import datetime

    class Calendarish:
        name: ClassVar[str] = "calendar"
        cursor_overlap: ClassVar[timedelta] = timedelta(0)

        def __init__(self, batches: list[Batch]) -> None:
            self.batches = batches

        def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]:
            yield from self.batches

    when = datetime(2026, 11, 3, 15, tzinfo=UTC)
    meeting = Activity(id="calendar:event:1", source="calendar", kind="event", title="Design review", occurred_at=when)
    runner = SyncRunner(sessions, user_id)
    runner.run([Calendarish([Batch((meeting,), checkpoint=Cursor(NOW))])], now=NOW)
    (result,) = runner.run([Calendarish([Batch(deleted=("calendar:event:1", "calendar:event:unknown"))])], now=NOW)
    assert result.counts.deleted == 1
    assert stored(sessions, user_id) == []


def pages(count: int, log: list[str], *, then: BaseException | None = None) -> Iterator[Batch]:
    """`count` one-item batches, noting each read and the generator's clean-up in `log`."""
    try:
        for number in range(count):
            log.append(f"read {number}")
            yield Batch(notes=(str(number),))
        if then is not None:
            raise then
    finally:
        log.append("closed")


def test_prefetched_gives_every_batch_in_order_then_the_streams_error() -> None:
    log: list[str] = []
    seen: list[str] = []
    with pytest.raises(SourceAuthError), Prefetched(pages(3, log, then=SourceAuthError("github", "refused"))) as it:
        for batch in it:
            seen.extend(batch.notes)
    assert seen == ["0", "1", "2"]
    assert log[-1] == "closed"


def test_prefetched_reads_the_next_page_while_the_caller_stores_the_last() -> None:
    second_read = threading.Event()

    def stream() -> Iterator[Batch]:
        yield Batch(notes=("0",))
        second_read.set()
        yield Batch(notes=("1",))

    with Prefetched(stream()) as it:
        next(it)
        # still "storing" page 0: page 1 is read meanwhile (the timeout only guards against a hang)
        assert second_read.wait(timeout=10)
        assert next(it).notes == ("1",)


def test_a_caller_that_stops_stops_the_reader_and_waits_for_it() -> None:
    log: list[str] = []
    with pytest.raises(RuntimeError), Prefetched(pages(100, log), depth=1) as it:
        for _batch in it:
            raise RuntimeError("the database refused the batch")
    # the reader was at most a queue and a page ahead, and had finished before the block was left
    assert log[-1] == "closed"
    assert len(log) <= 4
    assert not any(t.name == "brag-prefetch" for t in threading.enumerate())
