"""Scheduled-job runs: one row per (user, job, period), so a period's job is done once.

The scheduler's own job store only knows when a job fires next; this table knows what each
firing was *for* (a day's harvest, a week's digest, a quarter's summary) and whether it finished,
so a process restarted in the middle of a job finishes that job and never repeats a done one.

A run in progress is a lease: its owner (`leases.this_process()`) and an expiry the owner renews
while it works (`keep_lease`). Another process takes a `running` row over only when the lease
expired or its owner is a process on this host that has exited, so two live `brag run` never run
the same period at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from harvester.store import leases, repository
from harvester.store.models import JobRun

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = JobRun.RUNNING, JobRun.DONE, JobRun.FAILED
# a holder renews every RENEW_EVERY; a lease not renewed for LEASE belongs to a process that is gone
LEASE = timedelta(minutes=2)
RENEW_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Refused:
    """Why a run was not claimed: the period is done, or a live process holds it."""

    reason: str


def claim(
    sessions: sessionmaker[Session], user_id: int, job: str, period: str, now: datetime, owner: str | None = None
) -> int | Refused:
    """Start (or take over) the period's run for `owner` and return its id, or say why not.

    A failed run, or a `running` one whose holder is gone, is taken over: the jobs are idempotent
    (harvests upsert, the digest outbox fences every send), so finishing a dead process's run is safe.
    """
    owner = owner or leases.this_process()
    expires = now + LEASE
    with sessions.begin() as session:
        started = repository.new_job_run(session, user_id, job, period, owner=owner, now=now, expires=expires)
        if started is not None:
            return started
        row = repository.job_run(session, user_id, job, period)
        if row.status == DONE:
            return Refused("already done")
        if row.status == RUNNING and not _lease_lapsed(row, now):
            until = row.lease_expires_at.isoformat(timespec="seconds") if row.lease_expires_at else "?"
            return Refused(f"running in another process ({row.owner}, lease until {until})")
        if not repository.take_over_job_run(session, row, owner=owner, now=now, expires=expires):
            return Refused("claimed by another process a moment ago")
        return row.id


def _lease_lapsed(row: JobRun, now: datetime) -> bool:
    expired = row.lease_expires_at is None or row.lease_expires_at <= now
    return expired or leases.is_gone(row.owner)


def renew(sessions: sessionmaker[Session], run_id: int, owner: str, now: datetime | None = None) -> bool:
    """Extend the lease; False when `owner` no longer holds it (another process took the run over)."""
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        return repository.renew_job_run(session, run_id, owner, now + LEASE)


@contextmanager
def keep_lease(sessions: sessionmaker[Session], run_id: int, owner: str) -> Iterator[None]:
    """Renew the run's lease from a background thread while the block runs."""
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(RENEW_EVERY.total_seconds()):
            try:
                if not renew(sessions, run_id, owner):
                    log.warning("job run %d: another process took it over; finishing this attempt anyway", run_id)
                    return
            except Exception as exc:
                # a database hiccup: the lease lasts four renewals, the next one may get through
                log.warning("job run %d: could not renew its lease: %s", run_id, exc)

    thread = threading.Thread(target=heartbeat, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def finish(sessions: sessionmaker[Session], run_id: int, owner: str, *, error: str | None = None) -> bool:
    """Record the end of `owner`'s run; False (and nothing written) when another process holds it now."""
    with sessions.begin() as session:
        return repository.finish_job_run(session, run_id, owner, status=FAILED if error else DONE, error=error)


def unfinished(session: Session, user_id: int) -> list[JobRun]:
    """Runs still `running` (a dead process's, or a live one's), oldest first."""
    return repository.running_job_runs(session, user_id)


def latest(session: Session, user_id: int) -> dict[str, JobRun]:
    """Each job's most recently started run."""
    return repository.latest_job_runs(session, user_id)
