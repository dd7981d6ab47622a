"""`brag review`: walk the pending candidates in the terminal, one keypress per decision.

Each action is its own transaction through `ReviewService`, so quitting half-way keeps what was
decided and `u` undoes exactly what the web page's Undo would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

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

IMPACT_QUESTION = "Impact: what changed for users or the business? A number helps"
KEYS = {
    "a": "approve",
    "r": "reject",
    "m": "merge another into this",
    "s": "split an item out",
    "u": "undo",
    "n": "next",
    "q": "quit",
}


@dataclass
class Tally:
    approved: int = 0
    rejected: int = 0
    skipped: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return f"{self.approved} approved, {self.rejected} rejected, {len(self.skipped)} left for later"


def run_review(console: Console, sessions: sessionmaker[Session], user_id: int, zone: tzinfo) -> Tally:
    """Ask about each pending candidate, oldest week first, until none is left or the user quits."""
    tally = Tally()
    while (shown := _next_pending(sessions, user_id, tally.skipped)) is not None:
        row, items = shown
        console.print(candidate_panel(row, items, zone))
        key = Prompt.ask(
            " ".join(f"[bold]{k}[/]={v}" for k, v in KEYS.items()), choices=list(KEYS), default="n", console=console
        )
        if key == "q":
            break
        if key == "n":
            tally.skipped.add(row.public_id)
            continue
        try:
            message = _act(key, row, items, console, lambda do: _in_transaction(sessions, user_id, do))
        except ReviewError as exc:
            console.print(Text(f"error: {exc}", style="red"))
            continue
        tally.approved += key == "a"
        tally.rejected += key == "r"
        console.print(Text(one_line(message), style="green"))
    else:
        console.print("Nothing left to review." if not tally.skipped else "That was the last one.")
    console.print(str(tally))
    return tally


def _act(
    key: str,
    row: CandidateRow,
    items: Sequence[Activity],
    console: Console,
    run: Callable[[Callable[[ReviewService], str]], str],
) -> str:
    public_id = row.public_id
    if key == "a":
        impact = Prompt.ask(IMPACT_QUESTION, default=row.impact or "", show_default=False, console=console)
        title = Prompt.ask("Title (Enter keeps it)", default=row.title, show_default=False, console=console)
        return run(lambda review: f"Approved {review.approve(public_id, impact=impact, title=title).title}")
    if key == "r":
        return run(lambda review: f"Rejected {review.reject(public_id).public_id}")
    if key == "m":
        other = Prompt.ask("Id of the candidate to merge into this one", console=console).strip()
        return run(lambda review: f"Merged {other} into {review.merge(public_id, other).public_id}")
    if key == "s":
        numbers = [str(n) for n in range(1, len(items) + 1)]
        number = Prompt.ask("Split out item number", choices=numbers, console=console)
        activity_id = items[int(number) - 1].id
        return run(lambda review: f"Split {activity_id} out into {review.split(public_id, activity_id).public_id}")
    return run(lambda review: review.undo().message)


def _in_transaction(sessions: sessionmaker[Session], user_id: int, do: Callable[[ReviewService], str]) -> str:
    with sessions.begin() as session:
        return do(ReviewService(session, user_id))


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
    for number, evidence in enumerate((evidence_of(item, zone) for item in items), 1):
        lines.append(
            Text(f"  {number}. {evidence.kind} {evidence.at:%a %d %b}: {evidence.title}  {evidence.url}".rstrip())
        )
    return Panel(Group(*lines), title=Text(f"{row.public_id} · {row.week}"), title_align="left")
