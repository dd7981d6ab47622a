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

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from harvester.store import leases
from harvester.store.conflicts import insert_or_ignore
from harvester.store.models import Base

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
# a holder renews every RENEW_EVERY; a lease not renewed for LEASE belongs to a process that is gone
LEASE = timedelta(minutes=2)
RENEW_EVERY = timedelta(seconds=30)


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("user_id", "job", "period", name="uq_job_run_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(32))
    # what the run is for: an ISO instant (harvest), an ISO week (digest) or a quarter (2026Q4)
    period: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]


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
    key = {"user_id": user_id, "job": job, "period": period}
    with sessions.begin() as session:
        fresh = {"status": RUNNING, "attempts": 1, "started_at": now, "owner": owner, "lease_expires_at": now + LEASE}
        if insert_or_ignore(session, JobRun, key | fresh, conflict=list(key)):
            return _run_id(session, user_id, job, period)
        row = session.scalars(
            select(JobRun).where(JobRun.user_id == user_id, JobRun.job == job, JobRun.period == period)
        ).one()
        if row.status == DONE:
            return Refused("already done")
        if row.status == RUNNING and not _lease_lapsed(row, now):
            until = row.lease_expires_at.isoformat(timespec="seconds") if row.lease_expires_at else "?"
            return Refused(f"running in another process ({row.owner}, lease until {until})")
        # compare-and-set on attempts, which every claim increments: of two processes taking over, one wins
        taken = session.execute(
            update(JobRun)
            .where(JobRun.id == row.id, JobRun.attempts == row.attempts, JobRun.status == row.status)
            .values(
                status=RUNNING,
                attempts=row.attempts + 1,
                started_at=now,
                finished_at=None,
                error=None,
                owner=owner,
                lease_expires_at=now + LEASE,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return Refused("claimed by another process a moment ago")
        return row.id


def _run_id(session: Session, user_id: int, job: str, period: str) -> int:
    query = select(JobRun.id).where(JobRun.user_id == user_id, JobRun.job == job, JobRun.period == period)
    return int(session.scalars(query).one())


def _lease_lapsed(row: JobRun, now: datetime) -> bool:
    expired = row.lease_expires_at is None or row.lease_expires_at <= now
    return expired or leases.is_gone(row.owner)


def renew(sessions: sessionmaker[Session], run_id: int, owner: str, now: datetime | None = None) -> bool:
    """Extend the lease; False when `owner` no longer holds it (another process took the run over)."""
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.owner == owner, JobRun.status == RUNNING)
            .values(lease_expires_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


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
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.owner == owner, JobRun.status == RUNNING)
            .values(status=FAILED if error else DONE, error=error, finished_at=datetime.now(UTC), lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def unfinished(session: Session, user_id: int) -> list[JobRun]:
    """Runs still `running` (a dead process's, or a live one's), oldest first."""
    query = select(JobRun).where(JobRun.user_id == user_id, JobRun.status == RUNNING).order_by(JobRun.started_at)
    return list(session.scalars(query))


def latest(session: Session, user_id: int) -> dict[str, JobRun]:
    """Each job's most recently started run."""
    rows = session.scalars(select(JobRun).where(JobRun.user_id == user_id).order_by(JobRun.started_at))
    return {row.job: row for row in rows}
