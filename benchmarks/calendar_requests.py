"""Requests per Google Calendar harvest, counted at the sandbox server.

    python benchmarks/calendar_requests.py [--sizes 0,100,2500,10000]

Prints, for a calendar of N accepted meetings that ended in the window: the events.list requests
of the first (full) sync against the target ceil(N/2500), the requests of the next harvest when
nothing changed (target: one, carrying the sync token), and the records stored.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_store import fresh_runner

from connectors.google_calendar.connector import PAGE_SIZE, GoogleCalendarConnector
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from harvester.sandbox.scenario import Scenario

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


def measure(count: int, workdir: Path) -> dict[str, float]:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    start = end - timedelta(days=60)
    with GoogleCalendarSandbox(Scenario.calendar_bulk(count, start, end)) as server:
        token_file = workdir / f"token-{count}.json"
        token_file.write_text(json.dumps(server.authorized_user_info()))
        runner = fresh_runner(workdir / f"bench-{count}.db")
        connector = GoogleCalendarConnector(token_file, api_endpoint=server.calendar_url())
        began = time.perf_counter()
        (first,) = runner.run([connector], now=end, since=start)
        elapsed = time.perf_counter() - began
        full = server.count("/events")
        server.clear_log()
        (second,) = runner.run([connector], now=end + timedelta(hours=1))
        assert first.ok and second.ok, (first.error, second.error)
        assert first.counts.new == count and second.counts.total == 0
        return {"full": full, "incremental": server.count("/events"), "stored": first.counts.new, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,100,2500,10000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    print(f"{'events':>7} {'full sync':>10} {'ceil(N/2500)':>13} {'unchanged incr.':>16} {'stored':>7} {'events/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            figures = measure(count, Path(tmp))
            target = max(1, math.ceil(count / PAGE_SIZE))
            rate = count / figures["seconds"] if figures["seconds"] else 0
            print(
                f"{count:>7} {figures['full']:>10.0f} {target:>13} {figures['incremental']:>16.0f} "
                f"{figures['stored']:>7.0f} {rate:>9.0f}"
            )


if __name__ == "__main__":
    main()
