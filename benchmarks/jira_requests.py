"""Requests per Jira harvest, counted at the sandbox server, for Cloud and Server/Data Center, against the floor.

    python benchmarks/jira_requests.py [--sizes 18,232,1002]

For windows of N tickets the user closed (each also moved to Done by the user, so both questions
find all N), per deployment side by side: every request of a first harvest by kind (serverInfo,
/myself, /field, ticket searches, Server/DC epic-summary lookups), their total, the floor
(1 serverInfo + 1 field + max(1, ceil(N/100)) searches), and the requests of an unchanged
re-harvest of the same window.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_store import fresh_runner

from connectors.jira.connector import PAGE_SIZE, JiraConnector
from connectors.jira.sandbox import DEFAULT_API_TOKEN, DEFAULT_PAT, Deployment, JiraSandbox
from connectors.jira.sandbox_tickets import bulk_tickets
from harvester.sandbox.scenario import USER_LOGIN, USER_NAME, Scenario

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

DEPLOYMENTS: tuple[Deployment, ...] = ("Cloud", "Server")
COLUMNS = ("serverInfo", "myself", "field", "search", "epics", "total", "floor", "again")


def floor(count: int) -> int:
    """1 serverInfo + 1 field + one search per page of 100 (an empty window still asks once)."""
    return 2 + max(1, math.ceil(count / PAGE_SIZE))


def measure(count: int, deployment: Deployment, workdir: Path) -> dict[str, int]:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    start = end - timedelta(days=60)
    scenario = Scenario(login=USER_LOGIN, name=USER_NAME, now=end, features=())
    with JiraSandbox(scenario, deployment=deployment, tickets=bulk_tickets(count, start, end)) as server:
        runner = fresh_runner(workdir / f"bench-{deployment}-{count}.db")
        if deployment == "Cloud":
            connector = JiraConnector(server.base_url, email=scenario.email, token=DEFAULT_API_TOKEN)
        else:
            connector = JiraConnector(server.base_url, pat=DEFAULT_PAT)
        (first,) = runner.run([connector], now=end, since=start)
        epic_lookups = sum(1 for r in server.requests if "key in" in str(r.query.get("jql")))
        figures = {
            "serverInfo": server.count("/serverInfo"),
            "myself": server.count("/myself"),
            "field": server.count("/field"),
            "search": server.count("/search") - epic_lookups,
            "epics": epic_lookups,
            "total": len(server.requests),
            "floor": floor(count),
        }
        server.clear_log()
        (second,) = runner.run([connector], now=end, since=start)
        assert first.ok and second.ok, (first.error, second.error)
        assert first.counts.new == count and second.counts.unchanged == count
        figures["again"] = len(server.requests)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="18,232,1002")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    header = " ".join(f"{column:>10}" for column in COLUMNS)
    print(f"{'tickets':>7} | {'Cloud':^{len(header)}} | {'Server/DC':^{len(header)}}")
    print(f"{'':>7} | {header} | {header}")
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            cells = []
            for deployment in DEPLOYMENTS:
                figures = measure(count, deployment, Path(tmp))
                cells.append(" ".join(f"{figures[column]:>10}" for column in COLUMNS))
            print(f"{count:>7} | {cells[0]} | {cells[1]}")


if __name__ == "__main__":
    main()
