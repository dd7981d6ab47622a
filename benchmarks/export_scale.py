"""How `brag export` grows with the number of approved entries, per format, one fresh process per run.

    python benchmarks/export_scale.py [--sizes 250,500,1000,2000] [--formats md,html,docx,pdf]

Builds N realistic approved entries (3 evidence links each, about a third of them shared between
two entries, some with metrics, most with an impact statement, a third of them in one of eight
Jira epics) and times `export.build` plus the renderer over them, as `brag export` runs them after
reading the store. Each (format, N) runs in its own process so its peak RSS is honest. Prints CPU
seconds, wall seconds, milliseconds per entry, peak RSS and output size per run, then per format
the growth exponent: the least-squares slope of log(CPU seconds) against log(N), 1.0 being linear.
Targets (issue 13): DOCX for 2,000 entries at most 5 s; PDF at most 20 ms per entry and 300 MB.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# runs in a child process so the peak memory is that of one export, imports included
_CHILD = r"""
import io, json, resource, sys, time
from datetime import date, datetime, time as clock, timedelta
sys.path.insert(0, sys.argv[1])
from harvester.documents.bragdoc import BragEntry
from harvester.documents.evidence import Evidence
from harvester.documents.export import build, range_period
from harvester.documents.projects import Project
from harvester.documents.renderers import ExportFormat, render

count, format = int(sys.argv[2]), ExportFormat(sys.argv[3])
first = date(2026, 1, 1)
projects = [Project(f"PAY-{n}", f"Payments reliability {n}") for n in range(8)]
sections = ["Projects", "Collaboration & mentorship", "Operations & support", "Reviews"]
kinds = [("Pull request", "github", "https://github.com/acme/api/pull/{}"),
         ("Ticket", "jira", "https://acme.atlassian.net/browse/PAY-{}"),
         ("Meeting", "google_calendar", "https://www.google.com/calendar/event?eid=NGJtZ2Q4cDFhMGVxdmVmcjQ3{:08d}IGFsZXhAYWNtZS5leGFtcGxl")]
titles = ["Retry webhooks with exponential backoff and jitter", "Dashboard for failed deliveries",
          "Weekly payments sync", "Alert when the retry queue grows past 10,000 messages for five minutes"]

def evidence(number, day):
    kind, source, url = kinds[number % 3]
    at = datetime.combine(day, clock(10 + number % 8))
    return Evidence(f"{source}:{number}", kind, f"{titles[number % 4]} ({number})", url.format(number), at,
                    source, "acme/api" if source == "github" else "", gone=number % 97 == 0)

entries = []
for n in range(count):
    day = first + timedelta(days=n % 365)
    # every third entry cites the previous entry's last link too: shared evidence keeps one number
    numbers = [3 * n, 3 * n + 1, 3 * n + 2] if n % 3 else [3 * n - 1, 3 * n, 3 * n + 1]
    entries.append(BragEntry(
        candidate_id=f"c-{n:06d}", day=day, title=f"Webhook delivery work {n}: retries, dashboards and alerts",
        impact=None if n % 4 == 0 else f"Failed deliveries down from {n % 9 + 1}.1% to 0.{n % 7}%",
        section=sections[n % len(sections)], summary="",
        evidence=tuple(evidence(max(number, 0), day) for number in numbers),
        metrics=(f"p95 {n % 5 + 1}.2 s -> 0.7 s",) if n % 5 == 0 else (),
        project=projects[n % len(projects)] if n % 3 == 0 else None,
    ))
period = range_period(first, first + timedelta(days=365))
started, cpu_started = time.perf_counter(), time.process_time()
data = render(build(entries, period), format)
wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
pages = None
if format is ExportFormat.pdf:
    from pypdf import PdfReader
    pages = len(PdfReader(io.BytesIO(data)).pages)
print(json.dumps({"cpu": cpu, "wall": wall, "peak_mb": peak_mb, "bytes": len(data), "pages": pages}))
"""


def measure(count: int, format: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), str(count), format], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def growth_exponent(sizes: list[int], seconds: list[float]) -> float:
    """The least-squares slope of log(seconds) over log(size): 1 is linear, 2 quadratic."""
    xs = [math.log(size) for size in sizes]
    ys = [math.log(max(second, 1e-6)) for second in seconds]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread if spread else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,2000")
    parser.add_argument("--formats", default="md,html,docx,pdf")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print("| format | entries | CPU-s | wall s | ms/entry (CPU) | peak RSS MB | output KB | pages |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    exponents: dict[str, float] = {}
    for format in args.formats.split(","):
        cpu = []
        for count in sizes:
            figures = measure(count, format)
            cpu.append(figures["cpu"])
            pages = figures["pages"] if figures["pages"] is not None else ""
            print(
                f"| {format} | {count:,} | {figures['cpu']:.2f} | {figures['wall']:.2f} | "
                f"{1000 * figures['cpu'] / count:.2f} | {figures['peak_mb']:.0f} | {figures['bytes'] / 1024:,.0f} | "
                f"{pages} |",
                flush=True,
            )
        exponents[format] = growth_exponent(sizes, cpu)
    print()
    print("| format | growth exponent (CPU-s vs entries, log-log) |")
    print("| --- | --- |")
    for format, exponent in exponents.items():
        print(f"| {format} | {exponent:.2f} |")


if __name__ == "__main__":
    main()
