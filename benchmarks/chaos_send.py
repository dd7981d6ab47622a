"""kill -9 `brag digest --send` at random moments against a local SMTP server that also loses acknowledgements.

    python benchmarks/chaos_send.py [--trials 6] [--modes kill,kill-in-window,drop,drop+kill] [--seed 1]

A GitHub sandbox harvest and `brag candidates` make one database with pending candidates; each
trial copies it, starts a fresh SMTP sink (harvester/sandbox/smtp.py) and runs
`brag digest --send --week W` in one of these modes (`--trials` of each):

  kill            SIGKILL at a random moment: uniform over a clean send (measured first, from process
                  start) half the time, else within 0.5 s of the moment the clean send handed its message over
  kill-in-window  the sink keeps the message and holds its 250; SIGKILL while it holds it (the ack never arrives)
  drop            the sink keeps the message and drops the connection after the final "." (no kill)
  drop+kill       the sink drops the connection after the final ".", and SIGKILL at a random moment as in kill

Then the faults stop and the user goes on as the output says: `--send` again while it says the
digest is queued or being sent, `brag digest --retry` when it says the digest may or may not
have arrived (this user does not look in the inbox first: the worst case for duplicates), until a
command exits 0 (at most 5 commands). Printed per mode:

  trials       trials run; `killed` of them were still running at the kill
  after kill   the digest's status as the faulted command left it (queued, sending, unknown, sent)
  lost         digests the sink never received
  twice        digests the sink received more than once
  in-window    of those, copies sent by an explicit `--retry` of a row in `unknown` (the window
               docs/digest.md documents: the server had the message, its 250 or our record of it was lost)
  outside      copies sent any other way: a resend the user did not ask for (must be 0)
  unsettled    digests not `sent` at the end
  tracebacks   commands that printed one

followed by the distinct messages the commands printed. lost, outside, unsettled and tracebacks should be 0.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chaos import COMMAND_TIMEOUT, brag, reference, sandbox

from harvester.sandbox.smtp import SmtpSink

MODES = ("kill", "kill-in-window", "drop", "drop+kill")
MAX_COMMANDS = 5
# how long the sink holds its 250 at most in kill-in-window before the kill comes
HOLD_BEFORE_KILL = 0.3
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SENTENCE = re.compile(
    r"(Sent the|The \S+ digest|No digest waiting|Nothing to review|Traceback|Error|\[\w+\])", re.IGNORECASE
)


@dataclass
class Trial:
    mode: str
    killed: bool = False
    after_kill: str = ""
    received: int = 0
    in_window: int = 0
    outside: int = 0
    final: str = ""
    tracebacks: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class World:
    template: Path
    week: str
    workdir: Path
    send_seconds: float
    # when, from process start, the sink had the whole message in the clean send
    handover_seconds: float


def email_section(port: int) -> str:
    return (
        f'[email]\nto = "me@acme.com"\nfrom = "Brag Harvester <brag@acme.com>"\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n'
    )


def digest_status(database: Path, week: str) -> str:
    with sqlite3.connect(database) as connection:
        row = connection.execute("SELECT status FROM digests WHERE week = ?", (week,)).fetchone()
    return row[0] if row else "none"


def prepare(workdir: Path) -> World:
    """A database with pending candidates, the week to mail, and how long a clean send takes."""
    end = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    start = end - timedelta(days=6)
    with sandbox("github", 40, start, end) as source:
        reference(source, start, workdir / "template")
    template = workdir / "template" / "brag.db"
    with sqlite3.connect(template) as connection:
        (week,) = connection.execute("SELECT max(week) FROM candidates WHERE state = 'pending'").fetchone()
    world = World(template, week, workdir, send_seconds=0.0, handover_seconds=0.0)
    with SmtpSink() as sink:
        config = trial_config(world, "clean", sink.port)
        began = time.monotonic()
        process = brag(config, "digest", "--send", "--week", week)
        while not sink.received and process.poll() is None:
            time.sleep(0.002)
        world.handover_seconds = time.monotonic() - began
        code, output = run(process)
        world.send_seconds = time.monotonic() - began
        if code != 0 or len(sink.received) != 1:
            raise SystemExit(f"the clean send failed (exit {code}, {len(sink.received)} received):\n{output}")
    return world


def trial_config(world: World, name: str, port: int) -> Path:
    workdir = world.workdir / name
    workdir.mkdir()
    shutil.copy(world.template, workdir / "brag.db")
    config = workdir / "brag.toml"
    database = f"sqlite:///{workdir / 'brag.db'}"
    config.write_text(f'[database]\nurl = "{database}"\n[user]\ntimezone = "UTC"\n{email_section(port)}')
    return config


def run(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    out, err = process.communicate(timeout=COMMAND_TIMEOUT)
    return process.returncode, ANSI.sub("", (out + err).decode(errors="replace"))


def kill(process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def kill_moment(world: World, rng: random.Random) -> float:
    """Uniform over the whole clean send half the time, else within half a second of its handover."""
    if rng.random() < 0.5:
        return rng.uniform(0, world.send_seconds)
    return rng.uniform(max(0.0, world.handover_seconds - 0.5), world.handover_seconds + 0.5)


def faulted_send(mode: str, config: Path, world: World, sink: SmtpSink, rng: random.Random) -> bool:
    """The first `brag digest --send` with the mode's faults; whether it was killed."""
    sink.drop_after_data = 1.0 if mode.startswith("drop") else 0.0
    held = threading.Event()
    if mode == "kill-in-window":
        sink.hold_reply = held
    process = brag(config, "digest", "--send", "--week", world.week)
    try:
        if mode == "kill-in-window":
            while not sink.received and process.poll() is None:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, HOLD_BEFORE_KILL))
            return kill(process)
        if mode.endswith("kill"):
            time.sleep(kill_moment(world, rng))
            return kill(process)
        process.wait(timeout=COMMAND_TIMEOUT)
        return False
    finally:
        held.set()
        sink.hold_reply = None
        sink.drop_after_data = 0.0
        run(process)


def next_step(output: str) -> tuple[str, ...] | None:
    """What the output tells the user to run next, or None when it says the digest is settled."""
    if "may or may not have arrived" in output:
        return ("digest", "--retry")
    if "still queued" in output or "being sent right now" in output:
        return ("digest", "--send")
    return None


def run_trial(world: World, mode: str, number: int, seed: str) -> Trial:
    rng = random.Random(seed)
    trial = Trial(mode)
    with SmtpSink() as sink:
        config = trial_config(world, f"{mode}-{number}", sink.port)
        database = config.parent / "brag.db"
        trial.killed = faulted_send(mode, config, world, sink, rng)
        trial.after_kill = digest_status(database, world.week)
        command: tuple[str, ...] | None = ("digest", "--send", "--week", world.week)
        for _ in range(MAX_COMMANDS):
            if command is None:
                break
            before, status = len(sink.received), digest_status(database, world.week)
            code, output = run(brag(config, *command))
            trial.tracebacks += "Traceback" in output
            trial.messages += [f"{' '.join(command[:2])}, exit {code}: {line}" for line in sentences(output)]
            copies = len(sink.received) - before
            # a copy is extra when the sink already had one; only an asked-for retry of `unknown` may do that
            extra = copies if before else max(0, copies - 1)
            if command[1] == "--retry" and status == "unknown":
                trial.in_window += extra
            else:
                trial.outside += extra
            command = None if code == 0 else next_step(output)
        trial.received = len(sink.received)
        trial.final = digest_status(database, world.week)
    return trial


def sentences(output: str) -> list[str]:
    # weeks and times vary from trial to trial; the sentence is what matters
    lines = [line.strip() for line in output.splitlines() if SENTENCE.search(line)]
    return [
        re.sub(r"\d{4}-W\d\d", "W", re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d|\d+(\.\d+)? s\b|:\d+\b", "…", line))
        for line in lines
    ]


def report(mode: str, trials: list[Trial]) -> None:
    after = Counter(t.after_kill for t in trials)
    print(
        f"{mode:<15} {len(trials):>6} {sum(t.killed for t in trials):>6} "
        f"{', '.join(f'{s} {n}' for s, n in sorted(after.items())):<28} "
        f"{sum(t.received == 0 for t in trials):>4} {sum(t.received > 1 for t in trials):>5} "
        f"{sum(t.in_window for t in trials):>9} {sum(t.outside for t in trials):>7} "
        f"{sum(t.final != 'sent' for t in trials):>9} {sum(t.tracebacks for t in trials):>10}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6, help="trials per mode")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    modes = args.modes.split(",")
    if set(modes) - set(MODES):
        raise SystemExit(f"unknown modes {sorted(set(modes) - set(MODES))}; expected some of {', '.join(MODES)}")
    with tempfile.TemporaryDirectory(prefix="brag-chaos-send-") as tmp:
        world = prepare(Path(tmp))
        print(
            f"week {world.week}; a clean `brag digest --send` takes {world.send_seconds:.2f} s, "
            f"the message is handed over at {world.handover_seconds:.2f} s"
        )
        print(
            f"{'mode':<15} {'trials':>6} {'killed':>6} {'after kill':<28} {'lost':>4} {'twice':>5} "
            f"{'in-window':>9} {'outside':>7} {'unsettled':>9} {'tracebacks':>10}"
        )
        results: dict[str, list[Trial]] = {}
        for mode in modes:
            results[mode] = [run_trial(world, mode, n, f"{args.seed}-{mode}-{n}") for n in range(args.trials)]
            report(mode, results[mode])
        for mode, trials in results.items():
            for message, count in sorted(Counter(m for t in trials for m in t.messages).items()):
                print(f"    {mode}: {message}  (×{count})")


if __name__ == "__main__":
    main()
