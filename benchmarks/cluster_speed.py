"""Speed of `brag cluster --batches` over the whole dev set, one fresh process per pipeline.

    python benchmarks/cluster_speed.py [--eval-dir ../shared/eval]

Prints start-up seconds (imports and pipeline loading), activities per second after start-up
(wall clock, and per CPU second of the process, which a busy shared machine disturbs less), and
the peak resident memory of the process. `--repeat N` runs each pipeline N times and keeps the
fastest run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# runs in a child process so start-up and peak memory are those of a fresh `brag cluster`
_CHILD = r"""
import io, json, resource, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from harvester.cli.cluster_records import run_cluster_command
from harvester.clustering import load_pipeline
model = None if sys.argv[3] == "blank" else "en_core_web_sm"
load_pipeline(model)
startup = time.perf_counter() - started
lines, count = [], 0
for line in open(sys.argv[2]):
    if line.strip():
        window = json.loads(line)
        count += len(window["items"])
        lines.append(json.dumps({"batch_id": window["window_id"], "activities": window["items"]}))
source = io.StringIO("\n".join(lines) + "\n")
started, cpu_started = time.perf_counter(), time.process_time()
code = run_cluster_command(source, io.StringIO(), sys.stderr, batches=True, model=model)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
figures = {"code": code, "activities": count, "seconds": elapsed, "cpu": cpu, "startup": startup, "peak_mb": peak_mb}
print(json.dumps(figures))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    eval_file = args.eval_dir / "dev_stripped.jsonl"
    for pipeline in ("trained", "blank"):
        runs = []
        for _ in range(max(1, args.repeat)):
            result = subprocess.run(
                [sys.executable, "-c", _CHILD, str(REPO), str(eval_file), pipeline],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
        figures = min(runs, key=lambda run: run["seconds"])
        rate = figures["activities"] / figures["seconds"]
        cpu_rate = figures["activities"] / figures["cpu"]
        print(
            f"{pipeline:8} {figures['activities']} activities  {rate:,.0f} activities/s "
            f"({cpu_rate:,.0f} per CPU second)  "
            f"start-up {figures['startup']:.2f} s  peak RSS {figures['peak_mb']:.0f} MB  exit {figures['code']}"
        )


if __name__ == "__main__":
    main()
