"""kill -9 a `brag harvest` at random moments, harvest again, and compare the store with the truth.

    python benchmarks/chaos.py [--trials 20] [--sources github,jira,google_calendar] [--items 300]
                               [--latency 0.05] [--workers 2] [--seed 1]

For each source a sandbox serves `--items` items with `--latency` seconds per answer. A reference
harvest into a fresh database gives the truth (the items, their links, how long a harvest takes).
Then each trial starts `brag harvest --since …` on a fresh database (so first-use migration is part
of it) and kills it with SIGKILL: a third of the trials between the database file's creation and
the first request (first use: migration, the user's row), the others at a uniform moment of the
reference run. It then looks at what the kill left, harvests again (plainly, continuing from the
cursor, when one was saved; otherwise the same command again), runs `brag candidates`, and counts,
per source (`killed`: trials whose harvest was still running at the kill; `first-use`: kills that
left a database file without a committed schema):

  lost         items of the truth missing from the store after the second harvest
  duplicated   rows beyond one per item (by natural key, and by link against the reference)
  past-cur     items the kill left unsaved behind a saved cursor (older than cursor - overlap)
  ungrouped    items in no candidate after `brag candidates` (the reference's own count in brackets)
  unopenable   databases no later command could open
  tracebacks   commands after the kill that printed one

Every figure should be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from connectors.google_calendar.connector import GoogleCalendarConnector
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.connector import JiraConnector
from connectors.jira.sandbox import DEFAULT_API_TOKEN, JiraSandbox
from connectors.jira.sandbox_tickets import bulk_tickets
from harvester.sandbox.scenario import USER_LOGIN, USER_NAME, Scenario
from harvester.sandbox.server import SandboxServer
from harvester.store.engine import open_store

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

COMMAND_TIMEOUT = 300
OVERLAPS = {
    "github": GitHubConnector.cursor_overlap,
    "jira": JiraConnector.cursor_overlap,
    "google_calendar": GoogleCalendarConnector.cursor_overlap,
}


@dataclass(frozen=True)
class Item:
    external_id: str
    url: str
    occurred_at: datetime


@dataclass
class Snapshot:
    """What a database holds, read with sqlite3 so that looking changes nothing."""

    schema: str | None = None
    items: list[Item] = field(default_factory=list)
    cursor: datetime | None = None
    ungrouped: int = 0


@dataclass
class Source:
    name: str
    server: SandboxServer
    section: Callable[[Path], str]


@dataclass
class Truth:
    items: dict[str, Item]
    links: Counter[str]
    ungrouped: int
    seconds: float
    migration_seconds: float


@dataclass
class Trial:
    killed: bool = False
    killed_in_migration: bool = False
    lost: int = 0
    duplicated: int = 0
    past_cursor: int = 0
    ungrouped: int = 0
    unopenable: bool = False
    tracebacks: int = 0
    failures: list[str] = field(default_factory=list)


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def snapshot(database: Path, source: str) -> Snapshot:
    if not database.exists():
        return Snapshot()
    found = Snapshot()
    try:
        with sqlite3.connect(database) as connection:
            found.schema = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            found.items = [
                Item(external_id, url, _stamp(at))
                for external_id, url, at in connection.execute(
                    "SELECT external_id, url, occurred_at FROM activities WHERE source = ?", (source,)
                )
            ]
            # a source has a cursor per stream; the earliest is the one a kill could have left behind
            row = connection.execute(
                "SELECT MIN(harvested_until) FROM sync_cursors WHERE source = ?", (source,)
            ).fetchone()
            found.cursor = _stamp(row[0]) if row and row[0] else None
            found.ungrouped = connection.execute(
                "SELECT count(*) FROM activities a WHERE NOT EXISTS "
                "(SELECT 1 FROM candidate_items c WHERE c.activity_id = a.id)"
            ).fetchone()[0]
    except (sqlite3.Error, TypeError):
        pass  # no schema yet, or only part of it: what a kill during first use can leave
    return found


def brag(config: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "BRAG_CONFIG"}
    return subprocess.Popen(
        [sys.executable, "-m", "harvester", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    _out, err = process.communicate(timeout=COMMAND_TIMEOUT)
    return process.returncode, err.decode(errors="replace")


def write_config(workdir: Path, source: Source) -> Path:
    config = workdir / "brag.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{workdir / "brag.db"}"\n[user]\ntimezone = "UTC"\n{source.section(workdir)}'
    )
    return config


def first_harvest(config: Path, since: datetime) -> subprocess.Popen[bytes]:
    return brag(config, "harvest", "--since", since.strftime("%Y-%m-%dT%H:%M:%S"))


def reference(source: Source, since: datetime, workdir: Path) -> Truth:
    workdir.mkdir()
    config = write_config(workdir, source)
    database = workdir / "brag.db"
    began = time.monotonic()
    process = first_harvest(config, since)
    created = _wait_for(database, process)
    # first use lasts from the file's creation (migration, the user's row) to the first request
    while process.poll() is None and not source.server.requests:
        time.sleep(0.002)
    migrated = time.monotonic()
    code, err = finish(process)
    seconds = time.monotonic() - began
    if code != 0:
        raise SystemExit(f"{source.name}: the reference harvest failed:\n{err}")
    code, err = finish(brag(config, "candidates"))
    if code != 0:
        raise SystemExit(f"{source.name}: brag candidates failed after the reference harvest:\n{err}")
    found = snapshot(database, source.name)
    return Truth(
        items={item.external_id: item for item in found.items},
        links=Counter(item.url for item in found.items),
        ungrouped=found.ungrouped,
        seconds=seconds,
        migration_seconds=max(migrated - created, 0.01),
    )


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> float:
    while not path.exists() and process.poll() is None:
        time.sleep(0.002)
    return time.monotonic()


def kill_at_random(process: subprocess.Popen[bytes], database: Path, truth: Truth, rng: random.Random) -> bool:
    """SIGKILL during first use (a third of the time) or at a uniform moment; returns whether it was killed."""
    if rng.random() < 1 / 3:
        _wait_for(database, process)
        time.sleep(rng.uniform(0, truth.migration_seconds))
    else:
        time.sleep(rng.uniform(0, truth.seconds))
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def run_trial(source: Source, since: datetime, truth: Truth, workdir: Path, seed: int) -> Trial:
    rng = random.Random(seed)
    workdir.mkdir()
    config = write_config(workdir, source)
    database = workdir / "brag.db"
    trial = Trial(killed=kill_at_random(first_harvest(config, since), database, truth, rng))
    after_kill = snapshot(database, source.name)
    trial.killed_in_migration = database.exists() and after_kill.schema is None
    trial.past_cursor = past_cursor(after_kill, truth, OVERLAPS[source.name])

    # the user's next step: a plain harvest continues from the cursor; with none saved, the same command again
    _check(trial, "harvest", brag(config, "harvest") if after_kill.cursor else first_harvest(config, since))
    # the next command that reads candidates finishes any grouping the kill interrupted
    _check(trial, "candidates", brag(config, "candidates"))
    try:
        open_store(f"sqlite:///{database}").kw["bind"].dispose()
    except Exception as exc:  # any error here means the next command cannot open it either
        trial.unopenable = True
        trial.failures.append(f"open: {str(exc).splitlines()[0]}")

    final = snapshot(database, source.name)
    stored = Counter(item.external_id for item in final.items)
    links = Counter(item.url for item in final.items)
    trial.lost = len(set(truth.items) - set(stored))
    trial.duplicated = sum(n - 1 for n in stored.values()) + sum(
        max(0, n - truth.links.get(link, 1)) for link, n in links.items()
    )
    trial.ungrouped = final.ungrouped
    return trial


def _check(trial: Trial, label: str, process: subprocess.Popen[bytes]) -> None:
    code, err = finish(process)
    trial.tracebacks += "Traceback" in err
    if code != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit {code}"
        trial.failures.append(f"{label}: {last}")


def past_cursor(found: Snapshot, truth: Truth, overlap: timedelta) -> int:
    if found.cursor is None:
        return 0
    stored = {item.external_id for item in found.items}
    behind = found.cursor - overlap
    return sum(1 for item in truth.items.values() if item.occurred_at < behind and item.external_id not in stored)


@contextmanager
def sandbox(name: str, count: int, start: datetime, end: datetime) -> Iterator[Source]:
    scenario = Scenario(login=USER_LOGIN, name=USER_NAME, now=end, features=())
    if name == "github":
        with GitHubSandbox(Scenario.bulk(count, start, end)) as github:
            yield Source(
                name,
                github,
                lambda _dir: f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{github.base_url}"\n',
            )
    elif name == "jira":
        with JiraSandbox(scenario, tickets=bulk_tickets(count, start, end)) as jira:
            yield Source(
                name,
                jira,
                lambda _dir: (
                    f'[jira]\nserver = "{jira.base_url}"\nemail = "{scenario.email}"\ntoken = "{DEFAULT_API_TOKEN}"\n'
                ),
            )
    elif name == "google_calendar":
        with GoogleCalendarSandbox(Scenario.calendar_bulk(count, start, end)) as calendar:

            def section(workdir: Path) -> str:
                token_file = workdir / "google-token.json"
                token_file.write_text(json.dumps(calendar.authorized_user_info()))
                return f'[google_calendar]\ntoken_file = "{token_file}"\napi_endpoint = "{calendar.calendar_url()}"\n'

            yield Source(name, calendar, section)
    else:
        raise SystemExit(f"unknown source {name!r}; expected github, jira or google_calendar")


def measure(name: str, args: argparse.Namespace, workdir: Path) -> tuple[Truth, list[Trial]]:
    end = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    start = end - timedelta(days=20)
    with sandbox(name, args.items, start, end) as source:
        source.server.delay = args.latency
        truth = reference(source, start, workdir / f"{name}-reference")
        with ThreadPoolExecutor(args.workers) as pool:
            trials = list(
                pool.map(
                    lambda n: run_trial(source, start, truth, workdir / f"{name}-{n}", args.seed * 1000 + n),
                    range(args.trials),
                )
            )
    return truth, trials


def report(name: str, truth: Truth, trials: list[Trial]) -> None:
    print(
        f"{name:<16} {sum(t.killed for t in trials):>6} {sum(t.killed_in_migration for t in trials):>10} "
        f"{len(truth.items):>6} "
        f"{sum(t.lost for t in trials):>5} {sum(t.duplicated for t in trials):>5} "
        f"{sum(t.past_cursor for t in trials):>7} {sum(t.ungrouped for t in trials):>6} ({truth.ungrouped}) "
        f"{sum(t.unopenable for t in trials):>10} {sum(t.tracebacks for t in trials):>10}"
    )
    for failure in sorted({f for t in trials for f in t.failures}):
        print(f"    {name}: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="kills per source")
    parser.add_argument("--sources", default="github,jira,google_calendar")
    parser.add_argument("--items", type=int, default=300, help="items each sandbox serves")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox holds every answer")
    parser.add_argument("--workers", type=int, default=2, help="trials run at once")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{'source':<16} {'killed':>6} {'first-use':>10} {'items':>6} {'lost':>5} {'dup':>5} "
        f"{'past-cur':>7} {'ungrouped':>10} {'unopenable':>10} {'tracebacks':>10}"
    )
    with tempfile.TemporaryDirectory(prefix="brag-chaos-") as tmp:
        for name in args.sources.split(","):
            report(name, *measure(name, args, Path(tmp)))


if __name__ == "__main__":
    main()
