"""The team service's jobs on procrastinate, with real PostgreSQL and real `brag worker` processes.

Several users of one service database each get a harvest job per tick. Checked: a second tick
queues nothing twice; workers harvest every user once; a worker killed with SIGKILL mid-harvest
has its job taken over by another, and nothing is lost or stored twice; a digest that the SMTP
server refused is retried until it is sent, once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import team_support
from jobs_support import World, sandboxed_world
from sqlalchemy import func, select, text

from harvester.config import load_config
from harvester.context import Context
from harvester.queue.app import ensure_schema, queue_app
from harvester.queue.defer import defer_for_users
from harvester.sandbox.smtp import SmtpSink
from harvester.store import repository
from harvester.store.models import ActivityRow, DigestRow, JobRun
from harvester.timeutil import iso_week_label

pytestmark = pytest.mark.skipif(
    not os.environ.get("BRAG_TEST_POSTGRES_URL"),
    reason="the task queue runs on PostgreSQL: set BRAG_TEST_POSTGRES_URL (CI does)",
)
USERS = ("ana", "ben", "cho")
PERIOD = "2026-12-03T06:00Z"


# a fresh PostgreSQL database per test (`from conftest import` would find tests/clustering's in a full run)
team_url = team_support.team_url


@pytest.fixture
def world(tmp_path: Path, team_url: str) -> Iterator[World]:
    with sandboxed_world(tmp_path, team_url) as found:
        yield found


@pytest.fixture
def service(world: World) -> Context:
    return Context.open(load_config(world.config))


@pytest.fixture
def users(service: Context) -> list[int]:
    with service.sessions.begin() as session:
        return [repository.get_or_create_user(session, name, "Europe/Berlin").id for name in USERS]


@pytest.fixture
def app(service: Context) -> Iterator[Any]:
    queue = queue_app(service.config.database_url())
    ensure_schema(queue)
    with queue.open():
        yield queue


def start_worker(world: World, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "harvester", "--config", str(world.config), "worker", *args]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def job_states(service: Context) -> dict[str, int]:
    with service.sessions() as session:
        rows = session.execute(text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status"))
        return {str(status): int(count) for status, count in rows}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def stored(service: Context, user_id: int) -> tuple[int, int]:
    """(activities, distinct natural keys) of one user."""
    with service.sessions() as session:
        query = select(func.count(), func.count(func.distinct(ActivityRow.external_id))).where(
            ActivityRow.user_id == user_id
        )
        total, distinct = session.execute(query).one()
    return int(total), int(distinct)


def harvests_done(service: Context) -> int:
    with service.sessions() as session:
        return int(session.scalar(select(func.count()).where(JobRun.job == "harvest", JobRun.status == "done")) or 0)


def test_a_second_tick_queues_nothing_twice(app: Any, service: Context, users: list[int]) -> None:
    first = defer_for_users(app, "harvest", PERIOD, users)
    again = defer_for_users(app, "harvest", PERIOD, users)
    assert (first.queued, first.already_queued) == (len(users), 0)
    assert (again.queued, again.already_queued) == (0, len(users))
    assert job_states(service) == {"todo": len(users)}


def test_workers_harvest_every_user_once(app: Any, world: World, service: Context, users: list[int]) -> None:
    defer_for_users(app, "harvest", PERIOD, users)
    workers = [start_worker(world, "--concurrency", "2") for _ in range(2)]
    try:
        wait_for(lambda: harvests_done(service) == len(users), "every user's harvest")
        wait_for(
            lambda: job_states(service).get("todo", 0) + job_states(service).get("doing", 0) == 0, "an empty queue"
        )
    finally:
        for worker in workers:
            stop(worker)
    counts = [stored(service, user) for user in users]
    assert counts[0][0] > 0 and all(count == counts[0] for count in counts), counts
    assert all(total == distinct for total, distinct in counts)
    assert job_states(service).get("failed", 0) == 0


def test_a_worker_killed_mid_harvest_is_taken_over(app: Any, world: World, service: Context, users: list[int]) -> None:
    (user, *_) = users
    defer_for_users(app, "harvest", PERIOD, [user])
    # slow answers keep the harvest running long enough to kill the worker in the middle of it
    world.github.delay = world.jira.delay = world.calendar.delay = 0.3
    first = start_worker(world, "--concurrency", "1", "--stalled-after", "3")
    try:
        wait_for(lambda: job_states(service).get("doing") == 1, "the first worker to take the job", timeout=60)
        wait_for(lambda: len(world.github.requests) + len(world.jira.requests) > 1, "the harvest to start")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert harvests_done(service) == 0
        world.github.delay = world.jira.delay = world.calendar.delay = 0.0
        second = start_worker(world, "--concurrency", "1", "--stalled-after", "3")
        try:
            wait_for(lambda: harvests_done(service) == 1, "the second worker to finish the harvest")
        finally:
            stop(second)
    finally:
        stop(first)
    total, distinct = stored(service, user)
    assert total > 0 and total == distinct
    # what one uninterrupted harvest stores, for comparison: the same as a fresh user's
    other = users[1]
    defer_for_users(app, "harvest", PERIOD, [other])
    again = start_worker(world, "--concurrency", "1")
    try:
        wait_for(lambda: harvests_done(service) == 2, "a clean harvest")
    finally:
        stop(again)
    assert stored(service, other) == (total, distinct)


def test_a_digest_the_smtp_server_refused_is_retried_and_sent_once(
    app: Any, world: World, service: Context, users: list[int]
) -> None:
    (user, *_) = users
    week = iso_week_label(service.now(), service.zone)
    harvest_worker = start_worker(world, "--concurrency", "1")
    try:
        defer_for_users(app, "harvest", PERIOD, [user])
        wait_for(lambda: harvests_done(service) == 1, "the harvest")
        world.smtp.stop()  # the mail server is down when the digest job first runs
        defer_for_users(app, "digest", week, [user])
        wait_for(lambda: _digest_attempts(service, user, week) >= 1, "a failed send")
        with SmtpSink(port=world.smtp.port) as back_up:
            wait_for(lambda: _digest_status(service, user, week) == "sent", "the retried send", timeout=90)
            # a later tick queues the digest again: its claim finds the week done, nothing is mailed
            defer_for_users(app, "digest", week, [user])
            wait_for(lambda: job_states(service).get("todo", 0) == 0, "the repeated job", timeout=30)
            time.sleep(1)
            sent = back_up.messages()
    finally:
        stop(harvest_worker)
    assert len(sent) == 1 and sent[0]["Subject"].startswith("Your wins for")


def _digest_row(service: Context, user: int, week: str) -> DigestRow | None:
    with service.sessions() as session:
        return repository.digest_row(session, user, week)


def _digest_status(service: Context, user: int, week: str) -> str | None:
    row = _digest_row(service, user, week)
    return row.status if row is not None else None


def _digest_attempts(service: Context, user: int, week: str) -> int:
    with service.sessions() as session:
        run = session.scalar(
            select(JobRun).where(JobRun.user_id == user, JobRun.job == "digest", JobRun.period == week)
        )
        return 0 if run is None or run.status != "failed" else 1


def test_in_team_mode_a_scheduler_tick_queues_one_job_per_member(world: World, service: Context) -> None:
    from dataclasses import replace

    from harvester.config import parse_settings
    from harvester.scheduler import run_scheduled

    with service.sessions.begin() as session:
        members = [
            repository.get_or_create_user(session, name, "Europe/Berlin") for name in ("dana", "eli", "fay", "gus")
        ]
        for n, member in enumerate(members):
            member.subject = f"https://login.acme.example sub-{n}"
        members[2].disabled_at = datetime.now(UTC)
        members[3].paused_at = datetime.now(UTC)
        ids = [member.id for member in members]
    data = {
        "database": {"url": service.config.database_url()},
        "email": {"to": "team@acme.example", "from": "brag@acme.example"},
        "team": {"encryption_key": "env:UNUSED"},
    }
    team = replace(service, config=service.config.model_copy(update={"settings": parse_settings(data)}))
    now = datetime.now(UTC)
    assert run_scheduled(team, "harvest", now).endswith("queued for 2 member(s), 0 already queued")
    assert run_scheduled(team, "harvest", now).endswith("queued for 0 member(s), 2 already queued")
    # the service's digest time ([schedule] digest, Friday 16:00), in the members' own zone (Berlin)
    friday = datetime(2026, 12, 4, 15, 5, tzinfo=UTC)
    assert "queued for 3 member(s)" in run_scheduled(team, "digest", friday)
    with service.sessions() as session:
        queued = session.execute(text("SELECT task_name, args->>'user_id' FROM procrastinate_jobs")).all()
    harvests = sorted(int(user) for task, user in queued if task == "brag:harvest")
    digests = sorted(int(user) for task, user in queued if task == "brag:digest")
    # disabled: nothing; paused: a digest of what is there, no harvest
    assert harvests == [ids[0], ids[1]] and digests == [ids[0], ids[1], ids[3]]


def test_in_team_mode_each_member_gets_the_digest_at_their_own_address(world: World, service: Context) -> None:
    from dataclasses import replace

    from harvester import jobs
    from harvester.config import parse_settings
    from harvester.web import tokens

    with service.sessions.begin() as session:
        dana = repository.get_or_create_user(session, "dana@acme.example", "Europe/Berlin")
        dana.subject, dana.email, dana.display_name = "https://login.acme.example d", "dana@acme.example", "Kim, Dana"
        eli = repository.get_or_create_user(session, "eli@acme.example", "Europe/Berlin")
        eli.subject, eli.email = "https://login.acme.example e", "eli@acme.example"
        members = {dana.id: dana.name, eli.id: eli.name}
    data = {
        "database": {"url": service.config.database_url()},
        "web": {"base_url": "http://127.0.0.1:8765"},
        "email": {
            "to": "admins@acme.example",
            "from": "brag@acme.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": world.smtp.port,
            "smtp_security": "none",
        },
        "team": {"encryption_key": "env:UNUSED"},
    }
    team = replace(service, config=service.config.model_copy(update={"settings": parse_settings(data)}))
    week = iso_week_label(service.now(), service.zone)
    for member in members:
        # the service's configured sandbox sources stand in for the member's connected accounts
        jobs.harvest(replace(service, user_id=member), "now")
        assert "is sent" in jobs.execute(replace(team, user_id=member), jobs.DIGEST, week, datetime.now(UTC))
    sent = {message["To"]: message for message in world.smtp.messages()}
    assert set(sent) == {'"Kim, Dana" <dana@acme.example>', "eli@acme.example"}
    with service.sessions() as session:
        secret = repository.app_secret(session, tokens.SECRET_NAME)
    for address, name in (('"Kim, Dana" <dana@acme.example>', members[dana.id]), ("eli@acme.example", members[eli.id])):
        html = sent[address].get_body(preferencelist=("html",))
        assert html is not None
        link = re.search(r"http://127\.0\.0\.1:8765/r/([A-Za-z0-9_.\-]+)", html.get_content())
        assert link is not None and tokens.read_token(secret, link.group(1)).user == name
