"""The tasks a `brag worker` runs: one user's harvest, digest or quarterly summary for one period.

Each task is the single-user job (harvester/jobs.py) for one user of the service. Its claim in
`job_runs` is what makes it happen once: a job retried after a worker died, or queued again by a
later tick, finds the period done and does nothing. Transient failures (every source down, the
SMTP server refusing) are retried with backoff; a run still held by a live worker elsewhere is
retried once that worker's lease lapses; anything else (a bug, a configuration error) is not.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime

import procrastinate

from harvester import jobs
from harvester.context import Context
from harvester.store.models import User
from harvester.timeutil import zone_named

log = logging.getLogger(__name__)

# 5 attempts, 2 s, 4 s, 8 s, 16 s apart: a source's short outage or an SMTP restart
RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2, retry_exceptions={jobs.JobFailed, jobs.JobBusy})
# a worker that stops sending heartbeats for this long is dead; its jobs go back to the queue
STALLED_AFTER_SECONDS = 60.0
SERVICE = "service"


def user_context(job: procrastinate.JobContext, user_id: int) -> Context:
    """The service's context narrowed to one user: their id, and their time zone when they set one."""
    service: Context = job.additional_context[SERVICE]
    with service.sessions() as session:
        user = session.get(User, user_id)
        if user is None:
            raise jobs.JobFailed(f"no user {user_id}; they were deleted after the job was queued")
        zone = zone_named(user.timezone, service.zone)
    return replace(service, user_id=user_id, zone=zone)


def _run(job: procrastinate.JobContext, user_id: int, kind: str, period: str) -> str:
    done = jobs.execute(user_context(job, user_id), kind, period, datetime.now(UTC), raise_failures=True)
    log.info("user %s: %s", user_id, done)
    return done


def harvest(job: procrastinate.JobContext, user_id: int, period: str) -> str:
    return _run(job, user_id, jobs.HARVEST, period)


def digest(job: procrastinate.JobContext, user_id: int, period: str) -> str:
    return _run(job, user_id, jobs.DIGEST, period)


def quarterly(job: procrastinate.JobContext, user_id: int, period: str) -> str:
    return _run(job, user_id, jobs.QUARTERLY, period)


def warm_up(service: Context) -> None:
    """Load what every re-clustering needs before the worker's threads start taking jobs.

    Both loads are cached per process but not locked: a worker starting with T threads had all T
    load spaCy's pipeline (about 1 CPU-s each) and lemminflect's tables (0.4 CPU-s) at once, for
    each start and each restart after a kill (measured with py-spy on a 150-user run).
    """
    from lemminflect import getAllLemmas, getInflection

    from harvester.clustering import load_pipeline

    load_pipeline(service.config.settings.nlp.model)
    getAllLemmas("ship", upos="VERB")
    getInflection("ship", tag="VBD")


def blueprint() -> procrastinate.Blueprint:
    """The tasks, for one app: a blueprint's tasks belong to the first app they are added to."""
    tasks = procrastinate.Blueprint()
    for name, function in (("harvest", harvest), ("digest", digest), ("quarterly", quarterly)):
        tasks.task(name=name, pass_context=True, retry=RETRY)(function)
    return tasks


async def recover_stalled(app: procrastinate.App, stalled_after: float) -> int:
    """Put back the jobs of workers that died mid-job (kill -9, a lost machine): a worker is dead
    once its heartbeats are `stalled_after` seconds old, and what it held is queued again."""
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after))
    for found in stalled:
        log.warning("retrying job %s (%s) of a worker that stopped", found.id, found.task_name)
        await manager.retry_job(found)
    return len(stalled)


async def keep_recovering(app: procrastinate.App, stalled_after: float) -> None:
    """Every worker looks for dead workers' jobs, so recovery needs no extra process."""
    while True:
        try:
            await recover_stalled(app, stalled_after)
        except Exception:  # a database hiccup must not stop the worker; the next round tries again
            log.exception("looking for stalled jobs failed")
        await asyncio.sleep(max(stalled_after / 2, 1.0))
