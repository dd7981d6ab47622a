"""Requests per GitHub harvest, counted at the sandbox server.

    python benchmarks/github_requests.py [--sizes 0,10,100,1000,5000]

Prints, for windows of N merged pull requests: search requests, the target ceil(N/100) plus the
window splits needed past 1,000 results, GET /user, and the requests of an unchanged re-harvest.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_store import fresh_runner

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.sandbox.scenario import Scenario

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


def measure(count: int, workdir: Path) -> dict[str, float]:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    start = end - timedelta(days=60)
    with GitHubSandbox(Scenario.bulk(count, start, end)) as server:
        runner = fresh_runner(workdir / f"bench-{count}.db")
        connector = GitHubConnector(DEFAULT_TOKEN, base_url=server.base_url, reviews=False)
        began = time.perf_counter()
        (first,) = runner.run([connector], now=end, since=start)
        elapsed = time.perf_counter() - began
        first_search = server.count("/search/issues")
        first_user = server.count("/user")
        server.clear_log()
        (second,) = runner.run([connector], now=end, since=start)
        assert first.ok and second.ok and first.counts.new == count and second.counts.unchanged == count
        return {
            "search": first_search,
            "user": first_user,
            "again": len(server.requests),
            "seconds": elapsed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10,100,1000,5000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    print(
        f"{'PRs':>6} {'search':>7} {'ceil(N/100)':>12} {'splits':>7} {'GET /user':>10} "
        f"{'re-harvest':>11} {'items/s':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            figures = measure(count, Path(tmp))
            pages = max(1, math.ceil(count / 100))
            rate = count / figures["seconds"] if figures["seconds"] else 0
            print(
                f"{count:>6} {figures['search']:>7.0f} {pages:>12} {figures['search'] - pages:>7.0f} "
                f"{figures['user']:>10.0f} {figures['again']:>11.0f} {rate:>8.0f}"
            )


if __name__ == "__main__":
    main()
