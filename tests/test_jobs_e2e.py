"""The real scheduled jobs, end to end: a real harvest of every sandbox, the real digest through a
real SMTP server, and `brag run` itself in a subprocess, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.base import BaseScheduler
from jobs_support import World, sandboxed_world

from harvester import scheduler
from harvester.config import load_config
from harvester.context import Context
from harvester.sandbox.smtp import SmtpSink
from harvester.store import job_runs, repository
from harvester.timeutil import iso_week_label


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    with sandboxed_world(tmp_path, database_url) as opened:
        yield opened


def open_context(world: World) -> Context:
    return Context.open(load_config(world.config))


def last_runs(app: Context) -> dict[str, tuple[str, int, str | None]]:
    with app.sessions() as session:
        return {
            job: (run.status, run.attempts, run.error) for job, run in job_runs.latest(session, app.user_id).items()
        }


def logged_outcomes(caplog: pytest.LogCaptureFixture, job: str) -> list[dict[str, Any]]:
    """The facts each run of `job` logged with its sentence (`record.job_outcome`)."""
    found = [getattr(record, "job_outcome", None) for record in caplog.records]
    return [facts for facts in found if facts and facts["job"] == job]


def test_scheduled_harvest_then_digest_mail_the_week_once(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="harvester.jobs")
    app = open_context(world)
    now = datetime.now(UTC)
    harvested = scheduler.run_scheduled(app, "harvest", now)
    assert "new" in harvested and "failed" not in harvested, harvested
    # the same outcome as values, for a log handler: no sentence to parse
    (facts,) = logged_outcomes(caplog, "harvest")
    assert facts["status"] == "done" and facts["new"] > 0 and facts["sources_failed"] == 0
    assert harvested == (
        f"harvest for {facts['period']}: {facts['new']} new, {facts['updated']} updated, "
        f"{facts['weeks_reclustered']} week(s) re-clustered"
    )
    assert world.github.count("/search/issues") > 0 and world.jira.count("/search") > 0
    with app.sessions() as session:
        assert repository.candidate_rows(session, app.user_id, states=["pending"])

    week = iso_week_label(scheduler.due_time(scheduler.trigger_for("0 16 * * fri", app.zone), now) or now, app.zone)
    assert scheduler.run_scheduled(app, "digest", now) == f"digest for {week}: the {week} digest is sent"
    assert logged_outcomes(caplog, "digest") == [
        {"job": "digest", "period": week, "status": "done", "week": week, "digest": "sent"},
    ]
    (mail,) = world.smtp.received
    assert mail.message()["Message-ID"].startswith(f"<digest-{week}-me@")
    assert scheduler.run_scheduled(app, "digest", now + timedelta(hours=1)) == f"digest for {week}: already done"
    assert len(world.smtp.received) == 1 and last_runs(app)["digest"][:2] == ("done", 1)


def test_the_digest_job_is_not_done_while_its_digest_is_not_sent(tmp_path: Path, database_url: str) -> None:
    # the server keeps the message and drops the line before its 250: delivery unknown
    with sandboxed_world(tmp_path, database_url, smtp=SmtpSink(drop_after_data=1.0)) as world:
        app = open_context(world)
        now = datetime.now(UTC)
        scheduler.run_scheduled(app, "harvest", now)
        outcome = scheduler.run_scheduled(app, "digest", now)
        assert "failed" in outcome and "is unknown, not sent" in outcome, outcome
        assert last_runs(app)["digest"][0] == "failed"
        assert len(world.smtp.received) == 1
        # the next firing for the same week does not resend what may have arrived
        again = scheduler.run_scheduled(app, "digest", now + timedelta(minutes=1))
        assert "is unknown, not sent" in again and len(world.smtp.received) == 1


class StoreOnly(BaseScheduler):  # type: ignore[misc]
    """A scheduler that never wakes up: it only writes the job store."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass


def overdue(app: Context, **ago: timedelta) -> None:
    """Store the jobs as `brag run` would, with the named ones due `ago` in the past (a missed run)."""
    service = scheduler.configure(StoreOnly(), app)
    service.start(paused=True)
    scheduler.sync_jobs(service, app)
    for name in scheduler.jobs.ACTIONS:
        job_id = scheduler.job_id(app, name)
        if name in ago:
            service.modify_job(job_id, next_run_time=datetime.now(UTC) - ago[name])
        elif service.get_job(job_id) is not None:
            service.modify_job(job_id, next_run_time=datetime.now(UTC) + timedelta(days=30))
    service.shutdown()


def brag_run(world: World, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", BRAG_CONFIG=str(world.config))
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "harvester", "--config", str(world.config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    # polls for an outcome, with a deadline only so a broken build fails instead of hanging
    deadline = time.monotonic() + 180
    while not condition():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=120)


def test_brag_run_catches_up_harvest_and_digest_then_stops_on_sigterm(world: World, tmp_path: Path) -> None:
    app = open_context(world)
    overdue(app, harvest=timedelta(hours=2), digest=timedelta(hours=1))
    log = tmp_path / "run.log"
    process = brag_run(world, log)
    try:
        wait_for(lambda: last_runs(app).get("digest", ("",))[0] in ("done", "failed"), process, log)
    finally:
        code = stop(process)
    runs = last_runs(app)
    assert runs["harvest"][:2] == ("done", 1) and runs["digest"][:2] == ("done", 1), (runs, log.read_text())
    assert code == 0, log.read_text()
    assert len(world.smtp.received) == 1
    text = log.read_text()
    assert "received signal 15" in text and "digest is sent" in text

    # started again: nothing is due, nothing is repeated
    again = brag_run(world, tmp_path / "again.log")
    wait_for(lambda: "scheduled me:digest" in (tmp_path / "again.log").read_text(), again, tmp_path / "again.log")
    assert stop(again) == 0
    assert len(world.smtp.received) == 1 and last_runs(app)["harvest"][1] == 1


def test_two_brag_run_processes_harvest_a_period_once(world: World, tmp_path: Path) -> None:
    app = open_context(world)
    overdue(app, harvest=timedelta(hours=2))
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes = [brag_run(world, log) for log in logs]
    try:
        # with a shared job store (PostgreSQL) one scheduler may take the overdue firing and the other
        # only reschedule it, so wait for the period's run to be done, not for both to try it
        wait_for(lambda: last_runs(app).get("harvest", ("",))[0] == "done", processes[0], logs[0])
    finally:
        codes = [stop(process) for process in processes]
    assert codes == [0, 0]
    assert last_runs(app)["harvest"][:2] == ("done", 1)
    outcomes = " ".join(log.read_text() for log in logs)
    assert outcomes.count("new, ") == 1, outcomes
    tried = outcomes.count("harvest for ")
    assert tried == 1 or "running in another process" in outcomes or "already done" in outcomes, outcomes
