"""Wall time, CPU and memory of `brag harvest` against a GitHub sandbox that answers with latency.

    python benchmarks/harvest_speed.py [--sizes 1000] [--latency 0.05] [--repeat 1]

For each size: a first harvest of N merged pull requests into a fresh SQLite store (a new
`brag` process, as a user runs it: imports, harvest, re-clustering of the changed weeks), then
an unchanged re-harvest. Prints wall seconds, CPU seconds of the process, peak RSS, the requests
the sandbox served, and the ideal wall time (requests × latency) beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox  # noqa: E402
from harvester.sandbox.scenario import Scenario  # noqa: E402

END = datetime(2026, 11, 20, tzinfo=UTC)
SPAN = timedelta(days=60)


def config(workdir: Path, base_url: str) -> Path:
    path = workdir / "brag.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{workdir / "brag.db"}"\n'
        '[user]\nname = "bench"\ntimezone = "UTC"\n'
        f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{base_url}"\nreviews = false\n'
    )
    return path


def run(path: Path, window: bool) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS MiB, stderr tail) of one `brag harvest` process; `window`: the
    scenario's dates, else from where the last harvest stopped."""
    dates = ["--since", (END - SPAN).date().isoformat(), "--until", END.date().isoformat()] if window else []
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    env.pop("BRAG_CONFIG", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "harvester", "--config", str(path), "harvest", *dates],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"brag harvest failed ({done.returncode}): {done.stderr[-800:]}")
    # ru_maxrss of the children is the largest child so far, in KiB on Linux
    return wall, cpu, after.ru_maxrss // 1024, done.stderr[-200:]


def measure(count: int, latency: float) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, GitHubSandbox(Scenario.bulk(count, END - SPAN, END)) as server:
        server.delay = latency
        path = config(Path(tmp), server.base_url)
        for label in ("first", "unchanged"):
            server.clear_log()
            wall, cpu, rss, _ = run(path, window=label == "first")
            requests = server.count()
            rows.append(
                f"{count:>6} {label:>10} {wall:>7.2f} {cpu:>7.2f} {rss:>7} {requests:>8} {requests * latency:>7.2f}"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox waits per answer")
    args = parser.parse_args()
    print(f"{'PRs':>6} {'harvest':>10} {'wall s':>7} {'CPU s':>7} {'RSS MiB':>7} {'requests':>8} {'ideal s':>7}")
    for size in (int(s) for s in args.sizes.split(",")):
        for row in measure(size, args.latency):
            print(row, flush=True)


if __name__ == "__main__":
    main()
