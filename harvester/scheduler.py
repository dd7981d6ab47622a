"""`brag run`: APScheduler 3 firing the jobs of `harvester.jobs` at the times [schedule] gives.

Jobs live in the project's database (APScheduler's SQLAlchemyJobStore, its own `apscheduler_jobs`
table), so a run missed while the process was down is still due when it comes back. Each job is
coalesced (a laptop that slept through three harvests harvests once on waking), has a grace period
(how late a missed run may still start) and runs at most one instance at a time.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from harvester import jobs
from harvester.config import OFF, LoadedConfig, Settings, load_config
from harvester.context import Context
from harvester.store import job_runs, repository

log = logging.getLogger(__name__)

# APScheduler stores this reference, not the function: the store stays readable across upgrades
JOB_FUNCTION = "harvester.scheduler:run_job"
JOB_TABLE = "apscheduler_jobs"

# how late a missed run may still start; None: however late (APScheduler's "no limit")
GRACE: dict[str, timedelta | None] = {
    # a harvest continues from its cursors, so catching up is always right
    jobs.HARVEST: None,
    # a digest is about its week; later than this, next week's digest lists the same pending candidates
    jobs.DIGEST: timedelta(days=3),
    # the quarterly job fires weekly; a week late is the next firing anyway
    jobs.QUARTERLY: timedelta(days=7),
}
DESCRIPTIONS = {
    jobs.HARVEST: "harvest every source, re-cluster what changed",
    jobs.DIGEST: "email the week's digest",
    jobs.QUARTERLY: "write (and email) the quarter's summary in its last week",
}
# cron fire times are searched backwards in growing windows; a year covers any 5-field expression
_LOOKBACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367))


@dataclass(frozen=True)
class JobSpec:
    name: str
    cron: str

    @property
    def grace(self) -> timedelta | None:
        return GRACE[self.name]


def job_specs(settings: Settings) -> tuple[list[JobSpec], dict[str, str]]:
    """The jobs to schedule, and the ones left out with the reason."""
    schedule = settings.schedule
    wanted = {jobs.HARVEST: schedule.harvest, jobs.DIGEST: schedule.digest, jobs.QUARTERLY: schedule.quarterly}
    specs, disabled = [], {}
    for name, cron in wanted.items():
        if cron == OFF:
            disabled[name] = f'[schedule] {name} = "off"'
        elif name == jobs.DIGEST and settings.email is None:
            disabled[name] = "no [email] section"
        elif name == jobs.DIGEST and settings.team is not None:
            from harvester.team.schedule import TEAM_DIGEST_CRON

            # every hour: each member's own day and hour decide whose digest is due (team/schedule.py)
            specs.append(JobSpec(name, TEAM_DIGEST_CRON))
        else:
            specs.append(JobSpec(name, cron))
    return specs, disabled


def trigger_for(cron: str, zone: tzinfo) -> CronTrigger:
    """The cron expression read in the user's timezone: "0 18 * * *" is 18:00 local, summer and winter."""
    return CronTrigger.from_crontab(cron, timezone=zone)


def fire_times(trigger: CronTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after`."""
    times: list[datetime] = []
    current = after
    while len(times) < count:
        following = trigger.get_next_fire_time(None, current + timedelta(microseconds=1))
        if following is None:
            break
        times.append(following)
        current = following
    return times


def due_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now`: the time the run that is starting now was due."""
    for window in _LOOKBACK:
        first: datetime | None = trigger.get_next_fire_time(None, now - window)
        if first is None or first > now:
            continue
        latest: datetime = first
        while (following := trigger.get_next_fire_time(None, latest + timedelta(microseconds=1))) and following <= now:
            latest = following
        return latest
    return None


def clock() -> datetime:
    """Now; the tests replace it (together with APScheduler's own clock) to drive a simulated week."""
    return datetime.now(UTC)


def run_job(name: str, config_path: str | None) -> str:
    """What APScheduler calls: open the app from the config file and run the job for its due period."""
    config = load_config(Path(config_path) if config_path else None)
    context = Context.open(config)
    try:
        return run_scheduled(context, name, clock())
    finally:
        _engine(context).dispose()


def run_scheduled(context: Context, name: str, now: datetime) -> str:
    specs, _ = job_specs(context.config.settings)
    spec = next((s for s in specs if s.name == name), None)
    if spec is None:
        return f"{name}: not scheduled any more"
    due = due_time(trigger_for(spec.cron, context.zone), now) or now
    period = jobs.period_for(name, due, context.zone)
    if period is None:
        return f"{name}: nothing to do at {due.astimezone(context.zone):%Y-%m-%d %H:%M}"
    if context.config.settings.team is not None:
        return defer_for_team(context, name, period, now)
    return jobs.execute(context, name, period, now)


def defer_for_team(context: Context, name: str, period: str, now: datetime) -> str:
    """Team mode: the tick only queues one job per member for `brag worker`s to run (harvester/queue).

    A digest is queued for the members whose own digest day and hour have come, for the week it
    is in their own time zone; the other jobs for every member, for the tick's period.
    """
    from harvester.queue.app import ensure_schema, queue_app
    from harvester.queue.defer import defer_for_users

    with context.sessions() as session:
        members = repository.team_members(session, harvesting=name == jobs.HARVEST)
        if name == jobs.DIGEST:
            from harvester.team.schedule import digests_due, member_schedules

            schedules = member_schedules(session, members)
            grace = GRACE[jobs.DIGEST] or timedelta(days=3)
            work = digests_due(session, schedules, context.config.settings.schedule.digest, context.zone, now, grace)
        else:
            work = {period: members}
    app = queue_app(context.config.database_url())
    ensure_schema(app)
    queued = already = 0
    with app.open():
        for each_period, users in work.items():
            deferred = defer_for_users(app, name, each_period, users)
            queued, already = queued + deferred.queued, already + deferred.already_queued
    periods = ", ".join(work) or period
    return f"{name} for {periods}: queued for {queued} member(s), {already} already queued"


def job_id(context: Context, name: str) -> str:
    # one table can hold several users' jobs (a team server runs one `brag run` per user config)
    return f"{context.config.settings.user.name}:{name}"


def _engine(context: Context) -> Engine:
    engine: Engine = context.sessions.kw["bind"]
    return engine


def configure(scheduler: BaseScheduler, context: Context, executor: Any | None = None) -> BaseScheduler:
    """Point `scheduler` at the project's database and the user's timezone."""
    scheduler.configure(
        jobstores={"default": SQLAlchemyJobStore(engine=_engine(context), tablename=JOB_TABLE)},
        # one worker: jobs of one user write the same database, one after the other
        executors={"default": executor or ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=context.zone,
    )
    return scheduler


def sync_jobs(scheduler: BaseScheduler, context: Context) -> list[str]:
    """Make the stored jobs match [schedule]; a started scheduler, paused so nothing fires meanwhile.

    A job whose schedule did not change keeps its stored next run time, so a run missed while
    `brag run` was down is caught up (once) instead of being rescheduled into the future.
    """
    specs, _ = job_specs(context.config.settings)
    wanted = {job_id(context, spec.name): spec for spec in specs}
    prefix = job_id(context, "")
    for job in scheduler.get_jobs():
        if job.id.startswith(prefix) and job.id not in wanted:
            scheduler.remove_job(job.id)
    config_path = str(context.config.path.resolve()) if context.config.path else None
    for identifier, spec in wanted.items():
        trigger = trigger_for(spec.cron, context.zone)
        existing = scheduler.get_job(identifier)
        keep: dict[str, Any] = {}
        if existing is not None and repr(existing.trigger) == repr(trigger) and existing.next_run_time:
            keep["next_run_time"] = existing.next_run_time
        scheduler.add_job(
            JOB_FUNCTION,
            trigger,
            args=[spec.name, config_path],
            id=identifier,
            name=spec.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(spec.grace.total_seconds()) if spec.grace else None,
            **keep,
        )
    return list(wanted)


@dataclass(frozen=True)
class ScheduleRow:
    job: str
    cron: str
    next_run: datetime | None
    overdue: bool
    last_run: str


def schedule_rows(context: Context, now: datetime) -> tuple[list[ScheduleRow], dict[str, str]]:
    """What `brag schedule` shows: each job's next effective run and how its last run ended."""
    specs, disabled = job_specs(context.config.settings)
    store = SQLAlchemyJobStore(engine=_engine(context), tablename=JOB_TABLE)
    store.start(BackgroundScheduler(timezone=context.zone), "default")
    with context.sessions() as session:
        last = job_runs.latest(session, context.user_id)
    rows = []
    for spec in specs:
        trigger = trigger_for(spec.cron, context.zone)
        stored = store.lookup_job(job_id(context, spec.name))
        upcoming = _next_effective(spec.name, trigger, now, context.zone)
        overdue = stored is not None and stored.next_run_time is not None and stored.next_run_time <= now
        run = last.get(spec.name)
        summary = f"{run.status} ({run.period})" if run else "never"
        rows.append(ScheduleRow(spec.name, spec.cron, upcoming, overdue, summary))
    return rows, disabled


def _next_effective(name: str, trigger: CronTrigger, now: datetime, zone: tzinfo) -> datetime | None:
    # the quarterly job fires weekly but acts only in a quarter's last week: show the firing that acts
    for moment in fire_times(trigger, now, 20):
        if jobs.period_for(name, moment, zone) is not None:
            return moment
    return None


def serve(config: LoadedConfig, *, stop: threading.Event | None = None) -> None:
    """`brag run`: finish any run a previous process left mid-way, then fire jobs until SIGTERM/SIGINT."""
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d; stopping after the running job", signum)
        stop.set()

    # installed before anything starts, so a SIGTERM that arrives while the scheduler is starting (a
    # service manager stopping it early) still stops it cleanly instead of killing it mid-start
    previous = {sig: signal.signal(sig, _stop) for sig in _SIGNALS}
    try:
        context = Context.open(config)
        for outcome in jobs.recover(context, clock()):
            log.info("finished an interrupted run: %s", outcome)
        scheduler = configure(BackgroundScheduler(), context)
        scheduler.start(paused=True)
        try:
            ids = sync_jobs(scheduler, context)
            scheduler.resume()
            for identifier in ids:
                job = scheduler.get_job(identifier)
                log.info("scheduled %s; next run %s", identifier, job.next_run_time if job else "none")
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_SIGNALS: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
