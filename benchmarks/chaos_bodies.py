"""Spoil a sandbox's answers at random requests of a real `brag harvest`, harvest again, compare with the truth.

    python benchmarks/chaos_bodies.py [--trials 2] [--sources github,jira,google_calendar] [--items 300]
                                      [--kinds cut_on_the_wire,...] [--workers 2] [--seed 1]

For each source a sandbox serves `--items` items; a clean reference harvest into a fresh database
gives the truth (its items, and how many requests a harvest makes). Then, for every fault kind (the
sandbox's SPOILS: cut off on the wire, chunked and cut, JSON cut in half, an HTML page, the list's
objects sent as strings, the lists null, `{}`, the answer wrapped in a list; and two more wrong
shapes defined here: `continuation_dropped`, a page that says more follow without the token or Link
to them, and `objects_emptied`, the listed objects without any field), each trial starts a
fresh sandbox and database and runs `brag harvest --since …` with the answers spoiled from a random
request on: a burst of one or two answers (odd trials; the connector retries them) or every answer
from there (even trials; the source fails once its retries run out). Then the faults stop and the
user's next step runs: a plain `brag harvest` continuing from the cursor when one was saved,
otherwise the same command again. Printed per source and kind:

  trials       trials run (`burst` / `every`: how many of each)
  spoiled      answers the spoil really changed (a list spoil leaves an answer without lists alone)
  failed       faulted harvests that ended with the source failed (exit 1); expected for `every`
  lost         items of the truth missing from the store after the clean harvest
  dup          rows beyond one per item (by natural key, and by link)
  past-cur     items the faulted harvest left unsaved behind the cursor it saved (older than cursor - overlap)
  tracebacks   commands that printed one
  bad-exit     clean harvests that did not exit 0

followed by every distinct message a failed source printed (with its exit code). lost, dup,
past-cur, tracebacks and bad-exit should all be 0, and each message should name what the server sent.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chaos import (
    COMMAND_TIMEOUT,
    OVERLAPS,
    Truth,
    brag,
    first_harvest,
    past_cursor,
    reference,
    sandbox,
    snapshot,
    write_config,
)

from harvester.sandbox.server import SPOILS, Request, Response, SandboxServer

Spoil = Callable[[Response], Response]
# what carries the way to the next page (GitHub's REST search: its Link header); `continuation_dropped`
# removes it and keeps what says more pages follow (isLast false, total_count, hasNextPage)
CONTINUATION = frozenset({"link", "nextPageToken", "endCursor"})


def _without_continuation(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_continuation(item) for key, item in value.items() if key not in CONTINUATION}
    if isinstance(value, list):
        return [_without_continuation(item) for item in value]
    return value


def _emptied(value: Any) -> Any:
    """`value` with every object in its outermost lists replaced by `{}`."""
    if isinstance(value, list):
        return [{} if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        return {key: _emptied(item) for key, item in value.items()}
    return value


def _json_spoil(change: Callable[[Any], Any], *, drop_headers: frozenset[str] = frozenset()) -> Spoil:
    def spoil(response: Response) -> Response:
        try:
            data = json.loads(response.encode() or b"null")
        except ValueError:
            return response
        headers = {name: value for name, value in response.headers.items() if name.lower() not in drop_headers}
        return replace(response, body=json.dumps(change(data)).encode(), headers=headers)

    return spoil


# wrong shapes beyond the sandbox's own SPOILS: an answer that says more pages follow without saying
# how to get them, and one whose listed objects have none of their fields
KINDS: Mapping[str, Spoil] = {
    **SPOILS,
    "continuation_dropped": _json_spoil(_without_continuation, drop_headers=CONTINUATION),
    "objects_emptied": _json_spoil(_emptied),
}

# a burst this short is retried away by every connector (each retries an unreadable answer 5 times)
BURST = (1, 2)
FAILED_LINE = re.compile(r"^(\w+) failed: (.*)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Plan:
    """Which answers of one harvest are spoiled: `length` of them from request number `first` on."""

    kind: str
    first: int
    length: int | None
    seen: int = 0
    spoiled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def applies(self) -> bool:
        with self.lock:
            number, self.seen = self.seen, self.seen + 1
        return number >= self.first and (self.length is None or number < self.first + self.length)

    def spoil(self, response: Response) -> Response:
        spoiled = KINDS[self.kind](response)
        if (spoiled.encode(), spoiled.cut_after, spoiled.headers) != (
            response.encode(),
            response.cut_after,
            response.headers,
        ):
            with self.lock:
                self.spoiled += 1
        return spoiled


def spoiling(server: SandboxServer, plan: Plan) -> Callable[[], None]:
    """Spoil the answers `plan` picks, on their way out (the sandbox's SPOILS); returns a function that stops."""
    clean = server.dispatch

    def dispatch(request: Request) -> Response:
        response = clean(request)
        return plan.spoil(response) if plan.applies() else response

    server.dispatch = dispatch  # type: ignore[method-assign]

    def stop() -> None:
        server.dispatch = clean  # type: ignore[method-assign]

    return stop


@dataclass
class Trial:
    kind: str
    every: bool
    spoiled: int = 0
    failed: bool = False
    lost: int = 0
    duplicated: int = 0
    past_cursor: int = 0
    tracebacks: int = 0
    bad_exit: int = 0
    messages: list[str] = field(default_factory=list)


def run_trial(name: str, args: argparse.Namespace, truth: Truth, requests: int, kind: str, number: int) -> Trial:
    rng = random.Random(f"{args.seed}-{name}-{kind}-{number}")
    every = number % 2 == 0
    plan = Plan(kind, first=rng.randrange(requests), length=None if every else rng.choice(BURST))
    trial = Trial(kind, every)
    workdir = Path(args.workdir) / f"{name}-{kind}-{number}"
    workdir.mkdir()
    with sandbox(name, args.items, args.start, args.end) as source:
        config = write_config(workdir, source)
        database = workdir / "brag.db"
        stop = spoiling(source.server, plan)
        code, output = finish_all(first_harvest(config, args.start))
        stop()
        trial.spoiled = plan.spoiled
        trial.failed = code == 1
        trial.tracebacks += "Traceback" in output
        trial.messages += failure_messages(output, code)
        after_fault = snapshot(database, name)
        trial.past_cursor = past_cursor(after_fault, truth, OVERLAPS[name])
        again = brag(config, "harvest") if after_fault.cursor else first_harvest(config, args.start)
        code, output = finish_all(again)
        trial.tracebacks += "Traceback" in output
        if code != 0:
            trial.bad_exit += 1
            trial.messages += [f"clean harvest, {m}" for m in failure_messages(output, code)]
    final = snapshot(database, name)
    stored = Counter(item.external_id for item in final.items)
    links = Counter(item.url for item in final.items)
    trial.lost = len(set(truth.items) - set(stored))
    trial.duplicated = sum(n - 1 for n in stored.values()) + sum(
        max(0, n - truth.links.get(link, 1)) for link, n in links.items()
    )
    return trial


def finish_all(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Exit code and everything printed: the summary goes to stdout, errors and tracebacks to stderr."""
    out, err = process.communicate(timeout=COMMAND_TIMEOUT)
    return process.returncode, ANSI.sub("", (out + err).decode(errors="replace"))


def failure_messages(output: str, code: int) -> list[str]:
    found = [line.strip() for line in output.splitlines() if FAILED_LINE.match(line.strip())]
    if code not in (0, 1) or (code != 0 and not found):
        found.append(output.strip().splitlines()[-1] if output.strip() else "")
    # ports, ids and counts vary from trial to trial; the sentence is what matters
    return [f"exit {code}: " + re.sub(r"\d+", "N", message) for message in found]


def measure(name: str, args: argparse.Namespace, kinds: Iterable[str]) -> tuple[Truth, int, list[Trial]]:
    with sandbox(name, args.items, args.start, args.end) as source:
        truth = reference(source, args.start, Path(args.workdir) / f"{name}-reference")
        requests = len(source.server.requests)
    jobs = [(kind, number) for kind in kinds for number in range(args.trials)]
    with ThreadPoolExecutor(args.workers) as pool:
        trials = list(pool.map(lambda job: run_trial(name, args, truth, requests, *job), jobs))
    return truth, requests, trials


def report(name: str, truth: Truth, requests: int, trials: list[Trial]) -> None:
    print(f"{name}: {len(truth.items)} items, {requests} requests per clean harvest")
    for kind in dict.fromkeys(t.kind for t in trials):
        rows = [t for t in trials if t.kind == kind]
        every = sum(t.every for t in rows)
        print(
            f"  {kind:<20} {len(rows):>3} ({len(rows) - every}/{every}) {sum(t.spoiled for t in rows):>7} "
            f"{sum(t.failed for t in rows):>6} {sum(t.lost for t in rows):>5} {sum(t.duplicated for t in rows):>5} "
            f"{sum(t.past_cursor for t in rows):>8} {sum(t.tracebacks for t in rows):>10} "
            f"{sum(t.bad_exit for t in rows):>8}"
        )
    for message in sorted({m for t in trials for m in t.messages}):
        print(f"    {name}: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=2, help="trials per source and kind (alternately every/burst)")
    parser.add_argument("--sources", default="github,jira,google_calendar")
    parser.add_argument("--kinds", default=",".join(KINDS), help="fault kinds: the sandbox's SPOILS and two more")
    parser.add_argument("--items", type=int, default=300, help="items each sandbox serves")
    parser.add_argument("--workers", type=int, default=2, help="trials run at once")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown kinds {sorted(unknown)}; expected some of {', '.join(KINDS)}")
    args.end = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    args.start = args.end - timedelta(days=20)
    print(
        f"  {'kind':<20} {'trials':>9} {'spoiled':>7} {'failed':>6} {'lost':>5} {'dup':>5} "
        f"{'past-cur':>8} {'tracebacks':>10} {'bad-exit':>8}"
    )
    with tempfile.TemporaryDirectory(prefix="brag-chaos-bodies-") as tmp:
        args.workdir = tmp
        for name in args.sources.split(","):
            report(name, *measure(name, args, kinds))


if __name__ == "__main__":
    main()
