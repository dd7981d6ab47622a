"""`brag review`: walk the pending candidates in the terminal, one keystroke per decision.

Each action is its own transaction through `ReviewService`, so quitting half-way keeps what was
decided and `u` undoes exactly what the web page's Undo would. In a terminal a key answers at
once (readchar); from a pipe or a test each answer is a line, as a script would type it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo

import readchar
from rich.console import Console, Group
from rich.panel import Panel
from rich.prompt import Prompt
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker

from harvester.display import one_line, visible
from harvester.documents.evidence import evidence_of
from harvester.records import Activity
from harvester.review import ReviewError, ReviewService
from harvester.store import repository
from harvester.store.models import CandidateRow
from harvester.timeutil import iso_week_label, iso_week_window

IMPACT_QUESTION = "Impact: what changed for users or the business? A number helps"
KEYS = {
    "a": "approve",
    "r": "reject",
    # short enough that the whole line fits 80 columns with the key typed after it
    "m": "merge in",
    "s": "split out",
    "u": "undo",
    "n": "next",
    "q": "quit",
}
# a single keystroke picks a number only while every number is one digit
MOST_BY_ONE_KEY = 9
# Enter takes the default, or backs out where there is none; Ctrl-C and Ctrl-D back out. not Escape:
# readchar reads on after it, for the rest of an arrow key's sequence (measured: readkey blocks on a lone Esc)
ENTER_KEYS = {readchar.key.ENTER, readchar.key.CR, readchar.key.LF}
CANCEL_KEYS = {readchar.key.CTRL_C, readchar.key.CTRL_D}


@dataclass
class Tally:
    approved: int = 0
    rejected: int = 0
    skipped: set[str] = field(default_factory=set)
    # candidates still pending when the walk ends, skipped or never reached
    left: int = 0

    def __str__(self) -> str:
        return f"{self.approved} approved, {self.rejected} rejected, {self.left} left for later"


@dataclass
class TypedLines:
    """Answers typed as lines (a pipe, a script, a test); the end of input backs out, as Ctrl-D does."""

    console: Console

    def key(self, question: Text, keys: Sequence[str], default: str | None) -> str | None:
        try:
            answer = Prompt.ask(
                question, choices=list(keys), default=default or "", show_choices=False, console=self.console
            )
        except EOFError:
            return None
        return answer or None

    def line(self, question: str, default: str) -> str | None:
        """A line of text, Enter keeps `default`; Ctrl-C or the end of input backs out of the action."""
        try:
            return Prompt.ask(question, default=default, show_default=False, console=self.console)
        except (EOFError, KeyboardInterrupt):
            self.console.print()
            return None

    def number(self, question: str, count: int, *, or_id: bool) -> str | None:
        """A number from 1 to `count` (or, if `or_id`, any text: an id, even with no list); Enter alone backs out."""
        choices = None if or_id else [str(n) for n in range(1, count + 1)]
        try:
            answer = Prompt.ask(
                f"{question} (or its id)" if or_id else question,
                choices=choices,
                default="",
                show_choices=False,
                show_default=False,
                console=self.console,
            )
        except EOFError:
            return None
        return answer.strip() or None


class KeyPresses(TypedLines):
    """A terminal: a keystroke answers without Enter; free text (impact, title) still takes a line."""

    def key(self, question: Text, keys: Sequence[str], default: str | None) -> str | None:
        self.console.print(question, end=" ")
        while True:
            try:
                pressed = readchar.readkey()
            except KeyboardInterrupt:
                pressed = readchar.key.CTRL_C
            if pressed in ENTER_KEYS:
                pressed = default or readchar.key.CTRL_D
            if pressed in keys:
                self.console.print(Text(pressed, style="bold"))
                return pressed
            if pressed in CANCEL_KEYS:
                self.console.print()
                return None
            # any other key (an arrow, a typo) is not an answer: keep waiting

    def number(self, question: str, count: int, *, or_id: bool) -> str | None:
        if not count:
            return None
        if count > MOST_BY_ONE_KEY:
            return super().number(question, count, or_id=or_id)
        keys = [str(n) for n in range(1, count + 1)]
        return self.key(Text(f"{question} (1-{count}, Enter backs out):"), keys, None)


def answers_for(console: Console) -> TypedLines:
    """Keystrokes when a person is at a terminal; lines otherwise (readchar needs a tty to read one key)."""
    return KeyPresses(console) if sys.stdin.isatty() else TypedLines(console)


def run_review(
    console: Console, sessions: sessionmaker[Session], user_id: int, zone: tzinfo, answers: TypedLines | None = None
) -> Tally:
    """Ask about each pending candidate, oldest week first, until none is left or the user quits."""
    answers = answers or answers_for(console)
    tally = Tally()
    question = Text(" ").join(Text.assemble((k, "bold"), f"={v}") for k, v in KEYS.items())
    while (shown := _next_pending(sessions, user_id, tally.skipped)) is not None:
        row, items = shown
        console.print(candidate_panel(row, items, zone))
        key = answers.key(question, list(KEYS), "n") or "q"
        if key == "q":
            break
        if key == "n":
            tally.skipped.add(row.public_id)
            continue
        try:
            message = _act(key, row, items, answers, Walk(console, sessions, user_id, zone))
        except ReviewError as exc:
            console.print(Text(f"error: {exc}", style="red"))
            continue
        if message is None:
            continue
        tally.approved += key == "a"
        tally.rejected += key == "r"
        console.print(Text(one_line(message), style="green"))
    else:
        console.print("Nothing left to review." if not tally.skipped else "That was the last one.")
    tally.left = _pending_count(sessions, user_id)
    console.print(str(tally))
    return tally


@dataclass(frozen=True)
class Walk:
    """What an action needs besides the answers: where to print, and the store to act on."""

    console: Console
    sessions: sessionmaker[Session]
    user_id: int
    zone: tzinfo

    def run(self, do: Callable[[ReviewService], str]) -> str:
        with self.sessions.begin() as session:
            return do(ReviewService(session, self.user_id))


def _act(key: str, row: CandidateRow, items: Sequence[Activity], answers: TypedLines, walk: Walk) -> str | None:
    """Carry out one action; None when the user backed out of it."""
    public_id = row.public_id
    if key == "a":
        impact = answers.line(IMPACT_QUESTION, row.impact or "")
        title = None if impact is None else answers.line("Title (Enter keeps it)", row.title)
        if impact is None or title is None:
            return None
        return walk.run(lambda review: f"Approved {review.approve(public_id, impact=impact, title=title).title}")
    if key == "r":
        return walk.run(lambda review: f"Rejected {review.reject(public_id).public_id}")
    if key == "m":
        other = _pick_merge(row, answers, walk)
        if other is None:
            return None
        return walk.run(lambda review: f"Merged {other} into {review.merge(public_id, other).public_id}")
    if key == "s":
        number = answers.number("Split out item number", len(items), or_id=False)
        if number is None:
            return None
        activity_id = items[int(number) - 1].id
        return walk.run(lambda review: f"Split {activity_id} out into {review.split(public_id, activity_id).public_id}")
    return walk.run(lambda review: review.undo().message)


def _pick_merge(row: CandidateRow, answers: TypedLines, walk: Walk) -> str | None:
    """The public id of the candidate to merge in, picked by its number in the list shown."""
    choices = merge_choices(walk.sessions, walk.user_id, row, walk.zone)
    if not choices:
        walk.console.print("No other candidate is pending this week or last week.")
    for number, choice in enumerate(choices, 1):
        # one line each, the title cut short rather than wrapped: the number and the id stay on it
        line = Text(f"  {number}. {choice.week} · {choice.public_id} · {one_line(choice.title)}")
        walk.console.print(line, no_wrap=True, overflow="ellipsis")
    # where answers are lines a typed id still works, as it did before the list existed
    answer = answers.number("Number of the candidate to merge into this one", len(choices), or_id=True)
    if answer is None:
        return None
    if answer.isdigit() and 1 <= int(answer) <= len(choices):
        return choices[int(answer) - 1].public_id
    return answer


def merge_choices(sessions: sessionmaker[Session], user_id: int, row: CandidateRow, zone: tzinfo) -> list[CandidateRow]:
    """The other pending candidates of `row`'s week, then of the week before: what is likely the same work."""
    earlier = iso_week_label(iso_week_window(row.week, zone).start - timedelta(days=7), zone)
    with sessions() as session:
        pending = repository.candidate_rows(session, user_id, weeks=[row.week, earlier], states=["pending"])
    others = [other for other in pending if other.public_id != row.public_id]
    return sorted(others, key=lambda other: other.week != row.week)


def _pending_count(sessions: sessionmaker[Session], user_id: int) -> int:
    with sessions() as session:
        return len(repository.candidate_rows(session, user_id, states=["pending"]))


def _next_pending(
    sessions: sessionmaker[Session], user_id: int, skipped: set[str]
) -> tuple[CandidateRow, list[Activity]] | None:
    # re-read every time: a merge, split or undo changes what is pending and in what order
    with sessions() as session:
        for row in repository.candidate_rows(session, user_id, states=["pending"]):
            if row.public_id not in skipped:
                return row, repository.candidate_members(session, [row.id])[row.id]
    return None


def candidate_panel(row: CandidateRow, items: Sequence[Activity], zone: tzinfo) -> Panel:
    """One candidate with numbered evidence; harvested text goes in as Text, never as markup."""
    lines: list[Text] = [Text(one_line(row.title), style="bold")]
    if row.summary:
        lines.append(Text(visible(row.summary)))
    lines.append(Text(one_line(f"{row.section} · grouped because: {row.why}"), style="dim"))
    metrics = "; ".join(one_line(str(m.get("text", ""))) for m in row.metrics if m.get("text"))
    if metrics:
        lines.append(Text(f"numbers: {metrics}", style="green"))
    if row.impact:
        lines.append(Text(f"impact: {visible(row.impact)}", style="cyan"))
    # the kind is the reader's word from the evidence table ("Pull request", "Meeting"), never the record's
    for number, evidence in enumerate((evidence_of(item, zone) for item in items), 1):
        lines.append(Text(f"  {number}. {evidence.kind} {evidence.at:%a %d %b}: {evidence.title}"))
        # the link on a line of its own, under the title: a long one wraps there, not into the next item
        if evidence.url:
            lines.append(Text(f"     {evidence.url}", style="dim"))
    return Panel(Group(*lines), title=Text(f"{row.public_id} · {row.week}"), title_align="left")
