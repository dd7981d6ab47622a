"""How clustering one window grows with its size: N = 100, 1,000, 5,000, 20,000 items.

    python benchmarks/cluster_scale.py [--sizes 100 1000 5000 20000] [--path auto|dense]
                                       [--pipeline trained|blank] [--eval-dir ../shared/eval]

A window of N items is built from the stripped dev set: its windows are taken in turn (again
with a copy suffix on every id once all were used), keeping their texts and paths, and each is
moved into one week of 2025 (window w into week w mod 52, same weekday and hour), so a large
window is a team's year of work with about N / 52 items a week. Each size runs in a fresh
process, which prints the CPU seconds of `extract_features` plus `cluster_week` (start-up and
pipeline loading apart), the peak resident memory of the whole process, and the candidates
found. The growth exponent between two sizes is log(cpu ratio) / log(size ratio). `--path dense`
keeps every window on the dense path (the one small windows take) to compare with.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (100, 1000, 5000, 20000)
FIRST_WEEK = datetime(2024, 12, 30, tzinfo=UTC)  # the Monday of ISO week 2025-W01

_CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from harvester.clustering import cluster, extract_features, load_pipeline
from harvester.records import Activity
if sys.argv[4] == "dense":
    cluster.SPARSE_ABOVE = 10**9
nlp = load_pipeline(None if sys.argv[3] == "blank" else "en_core_web_sm")
activities = [Activity.from_json(json.loads(line)) for line in open(sys.argv[2]) if line.strip()]
startup = time.perf_counter() - started
cpu_started, wall_started = time.process_time(), time.perf_counter()
features = extract_features(nlp, activities)
cpu_features = time.process_time() - cpu_started
candidates = cluster.cluster_week(activities, nlp, features=features)
cpu = time.process_time() - cpu_started
wall = time.perf_counter() - wall_started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
groups = sorted(sorted(c.activity_ids) for c in candidates)
print(json.dumps({"cpu": cpu, "cpu_features": cpu_features, "wall": wall, "startup": startup,
                  "peak_mb": peak_mb, "candidates": len(candidates), "groups": groups}))
"""


def dev_windows(eval_file: Path) -> list[list[dict[str, Any]]]:
    with eval_file.open() as f:
        return [json.loads(line)["items"] for line in f if line.strip()]


def synthetic_window(windows: list[list[dict[str, Any]]], size: int) -> list[dict[str, Any]]:
    """`size` items of dev windows, re-identified and moved into the weeks of one year."""
    items: list[dict[str, Any]] = []
    number = 0
    while len(items) < size:
        window = windows[number % len(windows)]
        copy = number // len(windows)
        start = min(datetime.fromisoformat(item["occurred_at"]) for item in window)
        monday = (start - timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        shift = FIRST_WEEK + timedelta(weeks=number % 52) - monday
        for item in window[: size - len(items)]:
            moved = dict(item)
            moved["id"] = f"{item['id']}~{copy}" if copy else item["id"]
            moved["occurred_at"] = (datetime.fromisoformat(item["occurred_at"]) + shift).isoformat()
            items.append(moved)
        number += 1
    return items


def run_size(window: list[dict[str, Any]], path: str, pipeline: str, scratch: Path) -> dict[str, Any]:
    scratch.write_text("".join(json.dumps(item) + "\n" for item in window))
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), str(scratch), pipeline, path],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:120]}
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--path", choices=["auto", "dense"], default="auto")
    parser.add_argument("--pipeline", choices=["trained", "blank"], default="trained")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/cluster_scale_window.jsonl"))
    parser.add_argument("--groups-out", type=Path, help="write each size's groups here (JSON lines)")
    args = parser.parse_args()
    windows = dev_windows(args.eval_dir / "dev_stripped.jsonl")
    print(f"path {args.path}, pipeline {args.pipeline}")
    print(f"{'N':>7} {'CPU-s':>8} {'features':>9} {'wall-s':>7} {'peak MB':>8} {'candidates':>10} {'exponent':>8}")
    previous: tuple[int, float] | None = None
    for size in args.sizes:
        figures = run_size(synthetic_window(windows, size), args.path, args.pipeline, args.scratch)
        if "error" in figures:
            print(f"{size:>7,} failed: {figures['error']}", flush=True)
            previous = None
            continue
        exponent = ""
        if previous is not None:
            exponent = f"{math.log(figures['cpu'] / previous[1]) / math.log(size / previous[0]):.2f}"
        print(
            f"{size:>7,} {figures['cpu']:>8.2f} {figures['cpu_features']:>9.2f} {figures['wall']:>7.2f} "
            f"{figures['peak_mb']:>8.0f} {figures['candidates']:>10,} {exponent:>8}",
            flush=True,
        )
        if args.groups_out is not None:
            with args.groups_out.open("a") as out:
                out.write(json.dumps({"size": size, "path": args.path, "groups": figures["groups"]}) + "\n")
        previous = (size, figures["cpu"])


if __name__ == "__main__":
    main()
