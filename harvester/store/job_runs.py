"""Scheduled-job runs: one row per (user, job, period), so a period's job is done once.

The scheduler's own job store only knows when a job fires next; this table knows what each
firing was *for* (a day's harvest, a week's digest, a quarter's summary) and whether it finished,
so a process restarted in the middle of a job finishes that job and never repeats a done one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from harvester.store.models import Base

RUNNING, DONE, FAILED = "running", "done", "failed"


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


def claim(sessions: sessionmaker[Session], user_id: int, job: str, period: str, now: datetime) -> int | None:
    """Mark the run as started and return its id; None if this period's run is already done.

    A row still `running` was left by a process that died mid-job: it is taken over, because the
    jobs are idempotent (harvests upsert, the digest outbox is unique per week).
    """
    try:
        with sessions.begin() as session:
            row = session.scalars(
                select(JobRun).where(JobRun.user_id == user_id, JobRun.job == job, JobRun.period == period)
            ).one_or_none()
            if row is None:
                row = JobRun(user_id=user_id, job=job, period=period, status=RUNNING, attempts=0, started_at=now)
                session.add(row)
            elif row.status == DONE:
                return None
            row.status, row.attempts, row.started_at, row.error = RUNNING, row.attempts + 1, now, None
            session.flush()
            return row.id
    except IntegrityError:
        # another process inserted the same period a moment ago; it owns this run
        return None


def finish(sessions: sessionmaker[Session], run_id: int, *, error: str | None = None) -> None:
    with sessions.begin() as session:
        row = session.get(JobRun, run_id)
        if row is not None:
            row.status = FAILED if error else DONE
            row.error = error
            row.finished_at = datetime.now(UTC)


def unfinished(session: Session, user_id: int) -> list[JobRun]:
    """Runs a dead process left `running`, oldest first."""
    query = select(JobRun).where(JobRun.user_id == user_id, JobRun.status == RUNNING).order_by(JobRun.started_at)
    return list(session.scalars(query))


def latest(session: Session, user_id: int) -> dict[str, JobRun]:
    """Each job's most recently started run."""
    rows = session.scalars(select(JobRun).where(JobRun.user_id == user_id).order_by(JobRun.started_at))
    return {row.job: row for row in rows}
