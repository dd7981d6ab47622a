"""The sync runner: loads each source's cursor, runs its connector, stores records and cursor together.

The cursor only moves in the same transaction as the records it covers, so a crash or a kill at
any point resumes from the last saved batch, and upserts on the natural key make the re-read
overlap harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from harvester.errors import BragError, SourceError
from harvester.sources import Connector, Cursor
from harvester.store import repository
from harvester.store.repository import UpsertCounts
from harvester.timeutil import Window

log = logging.getLogger(__name__)

FIRST_RUN_LOOKBACK = timedelta(days=7)


@dataclass
class SourceResult:
    source: str
    window: Window
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    error: str | None = None
    fix: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


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
        connectors: Sequence[Connector],
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
        connector: Connector,
        *,
        now: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: ProgressCallback | None = None,
    ) -> SourceResult:
        source = connector.name
        with self.sessions.begin() as session:
            row = repository.load_cursor(session, self.user_id, source)
            stored = Cursor(row.harvested_until, dict(row.state)) if row else None
            window = harvest_window(stored, connector.cursor_overlap, now, since, until)
            run_id = repository.start_run(session, self.user_id, source, window.start, window.end).id
        result = SourceResult(source, window)
        status = "ok"
        try:
            for batch in connector.harvest(window, stored):
                with self.sessions.begin() as session:
                    counts = repository.upsert_activities(session, self.user_id, batch.activities)
                    counts.deleted = repository.delete_activities(session, self.user_id, source, batch.deleted)
                    if batch.checkpoint is not None:
                        advanced = next_cursor(stored, batch.checkpoint, window)
                        if advanced is not None:
                            repository.save_cursor(
                                session, self.user_id, source, advanced.harvested_until, dict(advanced.state)
                            )
                            stored = advanced
                result.counts.add(counts)
                result.notes.extend(batch.notes)
                if progress is not None:
                    progress(Progress(source, result.counts.total, batch.expected_total))
        except SourceError as exc:
            status, result.error, result.fix = "failed", exc.detail, exc.fix or None
            log.warning("%s", exc)
        except BragError as exc:
            status, result.error = "failed", str(exc)
            log.warning("%s: %s", source, exc)
        except Exception as exc:  # a bug in a connector must not stop the other sources
            status, result.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
            log.exception("%s: harvest failed unexpectedly", source)
        with self.sessions.begin() as session:
            repository.finish_run(session, run_id, result.counts, status, result.error)
        return result
