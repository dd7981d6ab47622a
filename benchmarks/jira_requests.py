"""Requests per Jira harvest, counted at the sandbox server, for Cloud and Server/Data Center.

    python benchmarks/jira_requests.py [--sizes 0,10,100,1000]

For windows of N tickets the user closed (each also moved to Done by the user, so both queries
find all N): construction calls (serverInfo), /myself, /field, search requests against the
target 2 × max(1, ceil(N/100)) (two queries), the Server/DC epic-summary lookups, and the
requests of an unchanged re-harvest.
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

from connectors.jira.connector import JiraConnector
from connectors.jira.sandbox import DEFAULT_API_TOKEN, DEFAULT_PAT, Deployment, JiraSandbox
from connectors.jira.sandbox_tickets import bulk_tickets
from harvester.sandbox.scenario import USER_LOGIN, USER_NAME, Scenario

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


def measure(count: int, deployment: Deployment, workdir: Path) -> dict[str, float]:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    start = end - timedelta(days=60)
    scenario = Scenario(login=USER_LOGIN, name=USER_NAME, now=end, features=())
    with JiraSandbox(scenario, deployment=deployment, tickets=bulk_tickets(count, start, end)) as server:
        runner = fresh_runner(workdir / f"bench-{deployment}-{count}.db")
        if deployment == "Cloud":
            connector = JiraConnector(server.base_url, email=scenario.email, token=DEFAULT_API_TOKEN)
        else:
            connector = JiraConnector(server.base_url, pat=DEFAULT_PAT)
        began = time.perf_counter()
        (first,) = runner.run([connector], now=end, since=start)
        elapsed = time.perf_counter() - began
        epic_lookups = sum(1 for r in server.requests if "key in" in str(r.query.get("jql")))
        figures = {
            "serverInfo": server.count("/serverInfo"),
            "myself": server.count("/myself"),
            "field": server.count("/field"),
            "search": server.count("/search") - epic_lookups,
            "epics": epic_lookups,
            "seconds": elapsed,
        }
        server.clear_log()
        (second,) = runner.run([connector], now=end, since=start)
        assert first.ok and second.ok, (first.error, second.error)
        assert first.counts.new == count and second.counts.unchanged == count
        figures["again"] = len(server.requests)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10,100,1000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    print(
        f"{'deployment':<10} {'tickets':>7} {'serverInfo':>10} {'myself':>6} {'field':>5} {'search':>6} "
        f"{'target':>6} {'epics':>5} {'re-harvest':>10} {'tickets/s':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for deployment in ("Cloud", "Server"):
            for count in sizes:
                f = measure(count, deployment, Path(tmp))  # type: ignore[arg-type]
                target = 2 * max(1, math.ceil(count / 100))
                rate = count / f["seconds"] if f["seconds"] else 0
                print(
                    f"{deployment:<10} {count:>7} {f['serverInfo']:>10.0f} {f['myself']:>6.0f} {f['field']:>5.0f} "
                    f"{f['search']:>6.0f} {target:>6} {f['epics']:>5.0f} {f['again']:>10.0f} {rate:>9.0f}"
                )


if __name__ == "__main__":
    main()
