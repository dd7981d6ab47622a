"""A team service's week on the task queue: N users' harvest and digest, W `brag worker` processes.

    BRAG_TEST_POSTGRES_URL=postgresql+psycopg://… python benchmarks/team_week.py \\
        [--users 100] [--workers 1 2 4] [--threads 8] [--latency 0.05] [--kill 0] [--team]

For each W: a fresh PostgreSQL database, N users, the sandboxes (GitHub, Jira, Calendar, one
realistic week each) answering every request after `--latency` seconds, and a local SMTP server.
The tick defers every user's harvest, then every user's digest; W workers with T threads each
run them. Printed: wall seconds, requests served (and per user), worker CPU seconds per user,
jobs per second, and, with `--kill K`, K workers killed with SIGKILL during the run and restarted,
then what was lost (a user without a finished harvest or a sent digest) and what was done twice
(more than one digest email for a user): both must be 0.

What is measured is the queue and the per-user pipeline; the sandboxes serve one realistic
engineer's week to everyone, so each user's requests and clustering are what one real user's week
costs. Without `--team` every user harvests the service's configured sandbox sources; with it the
service runs in team mode and every user is a member with their own sealed grant at each source,
harvested through them as the settings page's Connect buttons leave them (the grants opened, the
GitHub searches paced by each token's shared budget, the digest sent to the member's address).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from sqlalchemy import func, select, text  # noqa: E402

from harvester.config import load_config  # noqa: E402
from harvester.context import Context  # noqa: E402
from harvester.queue.app import ensure_schema, queue_app  # noqa: E402
from harvester.queue.defer import defer_for_users  # noqa: E402
from harvester.store import repository  # noqa: E402
from harvester.store.models import DigestRow, JobRun  # noqa: E402
from harvester.timeutil import iso_week_label  # noqa: E402


class Worker:
    def __init__(self, config: Path, threads: int) -> None:
        self.config, self.threads = config, threads
        self.cpu = 0.0
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "harvester", "--config", str(self.config), "worker"]
        command += ["--concurrency", str(self.threads), "--stalled-after", "5"]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _reap(self) -> None:
        _, _, usage = os.wait4(self.process.pid, 0)
        self.cpu += usage.ru_utime + usage.ru_stime

    def kill_and_restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self._reap()
        self.process = self._start()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        with suppress(ChildProcessError):
            self._reap()


def count(service: Context, job: str, status: str) -> int:
    with service.sessions() as session:
        query = select(func.count()).where(JobRun.job == job, JobRun.status == status)
        return int(session.scalar(query) or 0)


def machine_busy_seconds() -> float:
    """CPU seconds every core of this machine spent busy so far (/proc/stat), whoever spent them."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each running PostgreSQL process on this machine, by pid (/proc/<pid>/stat)."""
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            name, _, rest = stat.read_text().partition(") ")
            if name.endswith("(postgres"):
                fields = rest.split()
                found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def postgres_cpu_since(before: dict[int, float]) -> float:
    # backends that exited meanwhile are not counted: the workers' pooled ones live until they stop
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpu().items())


def own_cpu_seconds() -> float:
    """This process's CPU so far: the sandboxes' and the SMTP server's threads, and the polling."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wait_until(condition: Any, timeout: float, on_tick: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("gave up: the queue did not finish in time")
        if on_tick:
            on_tick()
        time.sleep(0.25)


def connect_everyone(service: Context, world: Any, ids: list[int]) -> None:
    """Team mode: each user a signed-up member with their own grant at each source, as the settings
    page's Connect buttons leave them (the sandboxes accept each member's own tokens)."""
    from harvester.store import accounts
    from harvester.store.models import User
    from harvester.team.sources import vault_of

    vault = vault_of(service.config.settings)
    jira_api = f"{world.jira.base_url}/ex/jira/{world.jira.cloud_id}"
    with service.sessions.begin() as session:
        for user_id in ids:
            user = session.get(User, user_id)
            assert user is not None
            user.subject, user.email = f"https://login.bench.example {user.name}", f"{user.name}@bench.example"
            for source, server, api_url in (
                ("github", world.github, ""),
                ("jira", world.jira, jira_api),
                ("google_calendar", world.calendar, ""),
            ):
                token = f"bench-{source}-{user_id}"
                server.oauth.accept(token)
                grant = {"source": source, "access_token": token, "refresh_token": None, "expires_at": None}
                grant |= {"scopes": [], "api_url": api_url, "site": ""}
                accounts.save_grant(session, user_id, source, vault, grant, [], None)


def run(users: int, workers: int, threads: int, latency: float, kills: int, team: bool = False) -> dict[str, Any]:
    from jobs_support import sandboxed_world
    from support import fresh_postgres_database

    from harvester.team.vault import new_key

    admin = os.environ.get("BRAG_BENCH_POSTGRES_URL") or os.environ["BRAG_TEST_POSTGRES_URL"]
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        url = stack.enter_context(contextmanager(fresh_postgres_database)(admin, prefix="brag_bench"))
        world = stack.enter_context(sandboxed_world(Path(scratch), url))
        if team:
            # the workers inherit the key through the environment
            os.environ["BRAG_BENCH_KEY"] = new_key()
            with world.config.open("a", encoding="utf-8") as config:
                config.write('[team]\ngithub_sign_in = true\nencryption_key = "env:BRAG_BENCH_KEY"\n')
        service = Context.open(load_config(world.config))
        with service.sessions.begin() as session:
            ids = [repository.get_or_create_user(session, f"user{n:05}", "Europe/Berlin").id for n in range(users)]
        if team:
            connect_everyone(service, world, ids)
        app = queue_app(service.config.database_url())
        ensure_schema(app)
        servers = (world.github, world.jira, world.calendar)
        for server in servers:
            server.delay = latency
            server.clear_log()
        week = iso_week_label(service.now(), service.zone)
        period = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
        pool = [Worker(world.config, threads) for _ in range(workers)]
        killed = 0
        # spread over the harvest phase of a 1,000-user run, so kills land mid-job
        kill_times = sorted(random.uniform(2, 40) for _ in range(kills))
        busy, own, database = machine_busy_seconds(), own_cpu_seconds(), postgres_cpu()
        began = time.monotonic()

        def chaos() -> None:
            nonlocal killed
            if killed < len(kill_times) and time.monotonic() - began > kill_times[killed]:
                random.choice(pool).kill_and_restart()
                killed += 1

        try:
            with app.open():
                defer_for_users(app, "harvest", period, ids)
                wait_until(lambda: count(service, "harvest", "done") == users, 3600, chaos)
                harvested = time.monotonic() - began
                defer_for_users(app, "digest", week, ids)
                wait_until(lambda: count(service, "digest", "done") == users, 3600, chaos)
            wall = time.monotonic() - began
            database_cpu = postgres_cpu_since(database)
        finally:
            for worker in pool:
                worker.stop()
        busy, own = machine_busy_seconds() - busy, own_cpu_seconds() - own
        with service.sessions() as session:
            sent = int(session.scalar(select(func.count()).where(DigestRow.status == "sent")) or 0)
            failed_jobs = session.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'"))
            failed = int(failed_jobs.scalar() or 0)
        requests = sum(len(server.requests) for server in servers)
        by_source = {
            name: len(server.requests) / users
            for name, server in zip(("github", "jira", "calendar"), servers, strict=True)
        }
        mails = len(world.smtp.messages())
        return {
            "users": users,
            "workers": workers,
            "threads": threads,
            "wall": wall,
            "harvest_wall": harvested,
            "requests": requests,
            "by_source": by_source,
            "cpu_per_user": sum(w.cpu for w in pool) / users,
            "sandbox_cpu": own,
            "postgres_cpu": database_cpu,
            # the rest of the machine's busy time: whatever else runs here
            "other_cpu": busy - own - database_cpu - sum(w.cpu for w in pool),
            "cores_busy": busy / wall,
            "jobs_per_s": 2 * users / wall,
            "killed": killed,
            "lost": users - min(count(service, "harvest", "done"), sent),
            "doubled": max(0, mails - sent),
            "failed_jobs": failed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--kill", type=int, default=0, help="workers to kill -9 (and restart) during each run")
    parser.add_argument(
        "--team",
        action="store_true",
        help="team mode: every user a member harvested through their own connected accounts (sealed grants)",
    )
    args = parser.parse_args()
    print(
        f"{'users':>6} {'W':>3} {'T':>3} {'wall s':>8} {'harvest s':>9} {'requests':>9} {'req/user':>8} "
        f"{'CPU s/user':>10} {'jobs/s':>7} {'killed':>6} {'lost':>5} {'doubled':>7}"
    )
    for workers in args.workers:
        r = run(args.users, workers, args.threads, args.latency, args.kill, args.team)
        print(
            f"{r['users']:>6} {r['workers']:>3} {r['threads']:>3} {r['wall']:>8.1f} {r['harvest_wall']:>9.1f} "
            f"{r['requests']:>9} {r['requests'] / r['users']:>8.1f} {r['cpu_per_user']:>10.3f} "
            f"{r['jobs_per_s']:>7.1f} {r['killed']:>6} {r['lost']:>5} {r['doubled']:>7}",
            flush=True,
        )
        per_source = ", ".join(f"{name} {count:.1f}" for name, count in r["by_source"].items())
        print(f"{'':>6} requests per user by source: {per_source}", flush=True)
        print(
            f"{'':>6} CPU seconds: workers {r['cpu_per_user'] * r['users']:.0f}, "
            f"sandboxes and SMTP {r['sandbox_cpu']:.0f}, "
            f"PostgreSQL {r['postgres_cpu']:.0f}, other work on the machine {r['other_cpu']:.0f}; "
            f"{r['cores_busy']:.2f} of "
            f"{os.cpu_count()} cores busy on average",
            flush=True,
        )


if __name__ == "__main__":
    main()
