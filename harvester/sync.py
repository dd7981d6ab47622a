"""The sync runner: loads each stream's cursor, runs the stream, stores records and cursor together.

A source has one stream per record type (`harvester.sources.Stream`), each with its own cursor
stored per (user, source, stream). A cursor only moves in the same transaction as the records it
covers, so a crash or a kill at any point resumes from the last saved batch, and upserts on the
natural key make the re-read overlap harmless. A stream that fails is reported and leaves its
cursor where it was; the source's other streams still run and move theirs.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from harvester.errors import BragError, SourceAuthError, SourceError
from harvester.records import MAX_BODY, MAX_TITLE, bounded, storable_text
from harvester.sources import Batch, Connector, Cursor, SingleStreamConnector, Stream, streams_of
from harvester.store import repository
from harvester.store.models import SyncCursor
from harvester.store.repository import UpsertCounts
from harvester.timeutil import Window

log = logging.getLogger(__name__)

FIRST_RUN_LOOKBACK = timedelta(days=7)
SHORTENED_NOTE = (
    "{count} record(s) had fields longer than brag keeps (title "
    f"{MAX_TITLE:,} characters, body {MAX_BODY:,}; see docs/architecture.md) or characters "
    "a database cannot store (NUL); they were stored shortened and cleaned"
)
SET_ASIDE_NOTE = "set aside {id}: the database cannot store it ({reason}); the rest of the harvest was stored"
# pages a stream may read ahead of the one being stored: one hides a page's request behind the
# last page's upsert and commit (measured, 1,000 PRs at 50 ms: most of the network phase overlaps);
# more would only hold more records in memory, since storing a page is faster than fetching one
PREFETCH_DEPTH = 1
# how often a reader blocked on a full queue looks whether the runner stopped wanting pages
_STOP_POLL = 0.05


@dataclass
class SourceResult:
    source: str
    window: Window
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    error: str | None = None
    fix: str | None = None
    notes: list[str] = field(default_factory=list)
    # streams that failed (the reviews, a calendar id); the source's other streams still ran
    failed_streams: list[str] = field(default_factory=list)
    # the source refused the credentials (SourceAuthError): only the user can fix it; in team mode
    # the grant is marked "reconnect" and the source skipped until they do
    refused: bool = False
    shortened: int = field(default=0, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def fail(self, stream: str, error: str, fix: str | None) -> None:
        """Record a stream's failure; what several streams fail with alike (a refused token) is said once."""
        self.failed_streams.append(stream)
        self.error = _joined(self.error, error)
        self.fix = _joined(self.fix, fix)


@dataclass(frozen=True)
class Progress:
    source: str
    done: int
    expected: int | None


ProgressCallback = Callable[[Progress], None]


def harvest_window(
    cursor: Cursor | None, overlap: timedelta, now: datetime, since: datetime | None, until: datetime | None
) -> Window:
    """The window to harvest: explicit bounds win; otherwise continue from the cursor with an overlap."""
    end = until or now
    if since is not None:
        start = since
    elif cursor is not None and cursor.harvested_until is not None:
        start = cursor.harvested_until - overlap
    else:
        start = end - FIRST_RUN_LOOKBACK
    return Window(start, end)


def spanning(windows: Iterable[Window], default: Window) -> Window:
    """The window a source's run is reported with: from its earliest stream's start to the common end."""
    found = list(windows)
    if not found:
        return default
    return Window(min(window.start for window in found), max(window.end for window in found))


def next_cursor(stored: Cursor | None, checkpoint: Cursor, window: Window) -> Cursor | None:
    """The cursor to save after a checkpoint, or None to leave the stored one as it is.

    An explicit window that starts after the stored cursor would leave a gap, so it does not
    move the cursor; neither does a window that ends before it.
    """
    if stored is None or stored.harvested_until is None:
        return checkpoint
    if window.start > stored.harvested_until:
        return None
    if checkpoint.harvested_until is not None and checkpoint.harvested_until < stored.harvested_until:
        return None
    return checkpoint


class SyncRunner:
    def __init__(self, sessions: sessionmaker[Session], user_id: int) -> None:
        self.sessions = sessions
        self.user_id = user_id

    def run(
        self,
        connectors: Sequence[Connector | SingleStreamConnector],
        *,
        now: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SourceResult]:
        """Harvest every source; one failing source is reported and the others still run."""
        return [self.run_source(c, now=now, since=since, until=until, progress=progress) for c in connectors]

    def run_source(
        self,
        connector: Connector | SingleStreamConnector,
        *,
        now: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: ProgressCallback | None = None,
    ) -> SourceResult:
        source = connector.name
        streams = streams_of(connector)
        with self.sessions.begin() as session:
            rows = repository.load_cursors(session, self.user_id, source)
            stored = {s.name: _cursor(rows.get(s.name)) for s in streams}
            windows = {s.name: harvest_window(stored[s.name], s.cursor_overlap, now, since, until) for s in streams}
            window = spanning(windows.values(), harvest_window(None, timedelta(0), now, since, until))
            run_id = repository.start_run(session, self.user_id, source, window.start, window.end).id
        result = SourceResult(source, window)
        try:
            for stream in streams:
                self._harvest(source, stream, stored[stream.name], windows[stream.name], result, progress)
        except BaseException:
            # ctrl-c or SystemExit: record how the run ended (best effort), then let the interrupt through
            with contextlib.suppress(Exception):
                self._finish(run_id, result, "interrupted", "interrupted before it finished")
            raise
        finally:
            if result.shortened:
                result.notes.append(SHORTENED_NOTE.format(count=result.shortened))
        self._finish(run_id, result, "ok" if result.ok else "failed", result.error)
        return result

    def _harvest(
        self,
        source: str,
        stream: Stream,
        stored: Cursor | None,
        window: Window,
        result: SourceResult,
        progress: ProgressCallback | None,
    ) -> None:
        """Harvest one stream; a failure is recorded in `result` and ends this stream only."""
        try:
            with Prefetched(stream.read(window, stored)) as pages:
                self._store_pages(pages, source, stream, stored, window, result, progress)
        except SourceError as exc:
            result.fail(stream.name, exc.detail, exc.fix or None)
            result.refused = result.refused or isinstance(exc, SourceAuthError)
            log.warning("%s", exc)
        except BragError as exc:
            result.fail(stream.name, str(exc), None)
            log.warning("%s: %s", source, exc)
        except Exception as exc:  # a bug in a connector must not stop the other streams and sources
            result.fail(stream.name, f"unexpected {type(exc).__name__}: {exc}", None)
            log.exception("%s: harvest of %s failed unexpectedly", source, stream.name)

    def _store_pages(
        self,
        pages: Iterable[Batch],
        source: str,
        stream: Stream,
        stored: Cursor | None,
        window: Window,
        result: SourceResult,
        progress: ProgressCallback | None,
    ) -> None:
        for raw in pages:
            batch = bounded_batch(raw)
            result.shortened += sum(
                1 for before, after in zip(raw.activities, batch.activities, strict=True) if before != after
            )
            stored = self._store(batch, source, stream.name, stored, window, result)
            result.notes.extend(batch.notes)
            if progress is not None:
                progress(Progress(source, result.counts.total, batch.expected_total))

    def _store(
        self, batch: Batch, source: str, stream: str, stored: Cursor | None, window: Window, result: SourceResult
    ) -> Cursor | None:
        """Write the batch and its checkpoint in one transaction; returns the cursor now stored.

        When the database refuses the batch (a value it cannot hold), the batch is written again
        one record per savepoint: the records it refuses are set aside and named in the summary,
        and the rest and the checkpoint still land. The cursor does move past a set-aside record:
        the same record would fail the same way on every run, and holding the cursor back would
        stop the source for good.
        """
        try:
            with self.sessions.begin() as session:
                counts, set_aside = self._write(session, source, batch, one_by_one=False)
                saved = self._checkpoint(session, source, stream, stored, batch, window)
        except (DataError, IntegrityError) as exc:
            log.warning("%s: the database refused a batch (%s); storing it record by record", source, exc.orig)
            # on sqlite (pysqlite's own transaction handling) each released savepoint may commit on its
            # own; the checkpoint is still written last, so the cursor never runs ahead of the records
            with self.sessions.begin() as session:
                counts, set_aside = self._write(session, source, batch, one_by_one=True)
                saved = self._checkpoint(session, source, stream, stored, batch, window)
        result.counts.add(counts)
        result.notes.extend(set_aside)
        return saved

    def _write(
        self, session: Session, source: str, batch: Batch, *, one_by_one: bool
    ) -> tuple[UpsertCounts, list[str]]:
        set_aside: list[str] = []
        if one_by_one:
            counts = UpsertCounts()
            for activity in batch.activities:
                try:
                    with session.begin_nested():
                        counts.add(repository.upsert_activities(session, self.user_id, [activity]))
                except (DataError, IntegrityError) as exc:
                    set_aside.append(SET_ASIDE_NOTE.format(id=activity.id[:120], reason=_first_line(exc.orig)))
                    log.warning("%s: set aside %s: %s", activity.source, activity.id, exc.orig)
        else:
            counts = repository.upsert_activities(session, self.user_id, batch.activities)
        if batch.deleted:
            counts.deleted = repository.mark_gone(session, self.user_id, source, batch.deleted)
        return counts, set_aside

    def _checkpoint(
        self, session: Session, source: str, stream: str, stored: Cursor | None, batch: Batch, window: Window
    ) -> Cursor | None:
        if batch.checkpoint is None:
            return stored
        advanced = next_cursor(stored, batch.checkpoint, window)
        if advanced is None:
            return stored
        repository.save_cursor(session, self.user_id, source, stream, advanced.harvested_until, dict(advanced.state))
        return advanced

    def _finish(self, run_id: int, result: SourceResult, status: str, error: str | None) -> None:
        with self.sessions.begin() as session:
            repository.finish_run(session, run_id, result.counts, status, error)


class Prefetched:
    """A stream's batches read on one background thread, up to `depth` ahead of the caller.

    The next page's request waits on the network while the caller stores the last page, instead
    of after it. Batches come out in the order the stream yields them and the caller still stores
    each with its checkpoint, so resuming after a crash is unchanged: a page read ahead but never
    stored is read again next run. An error the stream raises is raised to the caller in its
    place, after the batches before it. Leaving the `with` block stops the reader and waits for
    it (its current request finishes), so a connector's client is never used by two threads.
    """

    def __init__(self, batches: Iterator[Batch] | Iterable[Batch], depth: int = PREFETCH_DEPTH) -> None:
        self._batches = iter(batches)
        self._queue: queue.Queue[tuple[Batch | None, BaseException | None]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="brag-prefetch", daemon=True)

    def __enter__(self) -> Iterator[Batch]:
        self._thread.start()
        return self._iterate()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if kind is None or issubclass(kind, Exception):
            # ctrl-c does not wait for a request in flight: the thread is a daemon and dies with the process
            self._thread.join()

    def _iterate(self) -> Iterator[Batch]:
        while True:
            batch, error = self._queue.get()
            if error is not None:
                raise error
            if batch is None:
                return
            yield batch

    def _read(self) -> None:
        try:
            for batch in self._batches:
                if not self._put((batch, None)):
                    return
        except BaseException as exc:  # handed to the caller, who classifies it
            self._put((None, exc))
        else:
            self._put((None, None))
        finally:
            close = getattr(self._batches, "close", None)
            if close is not None:
                # a generator's own clean-up runs here, on the thread that ran it
                with contextlib.suppress(Exception):
                    close()

    def _put(self, item: tuple[Batch | None, BaseException | None]) -> bool:
        """Queue `item` unless the caller stopped reading; whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_STOP_POLL)
            except queue.Full:
                continue
            return True
        return False


def bounded_batch(batch: Batch) -> Batch:
    """The batch as it is stored: every record cleaned and bounded (records.bounded), ids cleaned alike."""
    return replace(
        batch,
        activities=tuple(bounded(activity) for activity in batch.activities),
        deleted=tuple(storable_text(external_id) for external_id in batch.deleted),
    )


def _cursor(row: SyncCursor | None) -> Cursor | None:
    return Cursor(row.harvested_until, dict(row.state)) if row is not None else None


def _joined(text: str | None, more: str | None) -> str | None:
    if not more or (text is not None and more in text):
        return text
    return f"{text}; {more}" if text else more


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "refused"
