"""CPU seconds and memory of commands that only describe themselves, and what their imports cost.

    python benchmarks/startup.py [--runs 5] [--top 12]

For `brag --help`, `brag candidates --help` and `brag schedule` (on a throwaway configuration with
three sources), prints the median user+system CPU seconds and peak RSS over `--runs` fresh
processes, then the `python -X importtime` entries of `brag --help` with the largest cumulative
time. Target: `brag --help` at most 0.3 CPU seconds; none of them imports spaCy or a client library.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BRAG = [sys.executable, "-m", "harvester"]
HEAVY = ("spacy", "github", "jira", "googleapiclient")


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """Median CPU seconds and the largest peak RSS (MiB) of `runs` fresh runs of `command`."""
    seconds, peak = [], 0.0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        # ru_maxrss of children is the largest of any child so far, in KiB on Linux
        peak = max(peak, after.ru_maxrss / 1024)
    return statistics.median(seconds), peak


def import_times(command: list[str], top: int) -> list[tuple[int, str]]:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]], capture_output=True, text=True, check=True
    )
    entries = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        entries.append((int(cumulative), name))
    return sorted(entries, reverse=True)[:top]


def heavy_imports(command: list[str]) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]], capture_output=True, text=True, check=True
    )
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in completed.stderr.splitlines()}
    return sorted(loaded & set(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "brag.toml"
        config.write_text(
            f'[user]\nname = "me"\ntimezone = "UTC"\n[database]\nurl = "sqlite:///{Path(folder) / "b.db"}"\n'
            '[github]\ntoken = "ghp_x"\n[jira]\nserver = "https://acme.atlassian.net"\nemail = "m@a.test"\n'
            'token = "t"\n[google_calendar]\n',
            encoding="utf-8",
        )
        os.environ["NO_COLOR"] = "1"
        commands = {
            "brag --help": [*BRAG, "--help"],
            "brag candidates --help": [*BRAG, "candidates", "--help"],
            "brag schedule": [*BRAG, "--config", str(config), "schedule"],
        }
        print(f"{'command':<24} {'CPU s (median)':>14} {'peak MiB':>9}  heavy imports")
        for label, command in commands.items():
            cpu, peak = measure(command, args.runs)
            heavy = ", ".join(heavy_imports(command)) or "none"
            print(f"{label:<24} {cpu:>14.3f} {peak:>9.1f}  {heavy}")
        print("\nslowest imports of `brag --help` (cumulative ms, python -X importtime):")
        for cumulative, name in import_times(commands["brag --help"], args.top):
            print(f"{cumulative / 1000:>9.1f}  {name}")
        print("\ntarget: brag --help <= 0.300 CPU s")


if __name__ == "__main__":
    main()
