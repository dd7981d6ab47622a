"""A job run is a lease: its owner and an expiry renewed while it runs; only a lapsed lease is taken over."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from harvester import jobs
from harvester.config import load_config
from harvester.context import Context
from harvester.store import job_runs

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
FIRST, SECOND = "host-a:100:aaaa", "host-b:200:bbbb"


def test_a_live_lease_is_refused_and_a_lapsed_one_taken_over(sessions: sessionmaker[Session], user_id: int) -> None:
    run = job_runs.claim(sessions, user_id, "digest", "2026-W47", NOW, FIRST)
    assert isinstance(run, int)
    refused = job_runs.claim(sessions, user_id, "digest", "2026-W47", NOW + timedelta(minutes=1), SECOND)
    assert isinstance(refused, job_runs.Refused) and "running in another process (host-a:100:aaaa" in refused.reason

    # the holder renews while it works, so its lease outlives the first expiry
    assert job_runs.renew(sessions, run, FIRST, now=NOW + timedelta(minutes=1))
    still = job_runs.claim(
        sessions, user_id, "digest", "2026-W47", NOW + job_runs.LEASE + timedelta(seconds=30), SECOND
    )
    assert isinstance(still, job_runs.Refused)

    # it stops renewing (killed on another host): the lease lapses and the run is taken over
    lapsed = NOW + timedelta(minutes=1) + job_runs.LEASE + timedelta(seconds=1)
    assert job_runs.claim(sessions, user_id, "digest", "2026-W47", lapsed, SECOND) == run
    # the old holder, if it was only slow, can neither renew nor record an outcome any more
    assert not job_runs.renew(sessions, run, FIRST)
    assert not job_runs.finish(sessions, run, FIRST, error="late")
    assert job_runs.finish(sessions, run, SECOND)
    done = job_runs.claim(sessions, user_id, "digest", "2026-W47", lapsed, FIRST)
    assert done == job_runs.Refused("already done")


def test_a_holder_killed_on_this_host_is_taken_over_at_once(sessions: sessionmaker[Session], user_id: int) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    killed = f"{socket.gethostname()}:{int(child.stdout)}:dead"
    run = job_runs.claim(sessions, user_id, "harvest", "2026-11-20T17:00Z", NOW, killed)
    assert isinstance(run, int)
    assert job_runs.claim(sessions, user_id, "harvest", "2026-11-20T17:00Z", NOW, SECOND) == run


def test_two_takeovers_of_one_lapsed_run_have_one_winner(sessions: sessionmaker[Session], user_id: int) -> None:
    run = job_runs.claim(sessions, user_id, "harvest", "p", NOW, FIRST)
    later = NOW + job_runs.LEASE * 2
    outcomes: list[int | job_runs.Refused] = []
    barrier = threading.Barrier(4)

    def take(owner: str) -> None:
        barrier.wait()
        outcomes.append(job_runs.claim(sessions, user_id, "harvest", "p", later, owner))

    threads = [threading.Thread(target=take, args=(f"host-{n}:1:x",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(run) == 1 and len(outcomes) == 4


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "brag.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[user]\ntimezone = "Europe/Berlin"\n')
    return path


def test_a_second_process_does_not_run_a_job_another_is_running(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two Apps, two engines: what two `brag run` processes are to the database
    first, second = Context.open(load_config(config_path)), Context.open(load_config(config_path))
    started, let_finish = threading.Event(), threading.Event()
    real_harvest = jobs.harvest

    def harvest_held_open(app: Context, period: str) -> jobs.Outcome:
        started.set()
        let_finish.wait()
        return real_harvest(app, period)

    monkeypatch.setitem(jobs.ACTIONS, "harvest", harvest_held_open)
    monkeypatch.setattr(job_runs, "RENEW_EVERY", timedelta(milliseconds=20))
    outcome: list[str] = []
    # claimed as if long ago, so its first lease lapses within seconds unless the heartbeat renews it
    claimed_at = datetime.now(UTC) - job_runs.LEASE + timedelta(seconds=5)
    worker = threading.Thread(target=lambda: outcome.append(jobs.execute(first, "harvest", "p", claimed_at)))
    worker.start()
    assert started.wait(60)
    try:
        with first.sessions() as session:
            claimed_lease = job_runs.latest(session, first.user_id)["harvest"].lease_expires_at
        assert claimed_lease is not None
        _wait_until_renewed(first, claimed_lease)
        # the other process, even after the first lease would have lapsed, sees a live (renewed) lease
        refused = jobs.execute(second, "harvest", "p", claimed_lease + timedelta(seconds=1))
        assert "harvest for p: running in another process" in refused
    finally:
        let_finish.set()
        worker.join()
    assert outcome == ["harvest for p: 0 new, 0 updated, 0 week(s) re-clustered"]
    with second.sessions() as session:
        run = job_runs.latest(session, second.user_id)["harvest"]
    assert (run.status, run.attempts) == ("done", 1)
    assert jobs.execute(second, "harvest", "p", datetime.now(UTC)) == "harvest for p: already done"


def _wait_until_renewed(app: Context, first_expiry: datetime) -> None:
    # the heartbeat renews every RENEW_EVERY; poll for its write, a deadline only against a hang
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with app.sessions() as session:
            lease = job_runs.latest(session, app.user_id)["harvest"].lease_expires_at
        if lease is not None and lease > first_expiry:
            return
        time.sleep(0.02)
    raise AssertionError("the lease was never renewed")
