"""The review commands: approve, reject, merge, split, include, undo, and the terminal walk-through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harvester.cli.common import EXIT_SOURCE_FAILED, T, console, err_console, open_context, user_errors
from harvester.clustering.model import SECTIONS
from harvester.display import one_line

if TYPE_CHECKING:
    from harvester.review import ReviewService


CandidateArg = Annotated[str, typer.Argument(metavar="ID", help="candidate id, as `brag candidates` lists it")]


def _review(action: Callable[[ReviewService], T]) -> T:
    """One review action in its own transaction; a ReviewError ends the command with its message (exit 1)."""
    from harvester.review import ReviewService

    with user_errors():
        context = open_context()
        with context.sessions.begin() as session:
            return action(ReviewService(session, context.user_id))


def _section(text: str | None) -> str | None:
    """The section as the brag doc spells it, typed in any case; an unknown one is the review's to refuse (exit 1)."""
    if text is None:
        return None
    by_folded = {name.casefold(): name for name in SECTIONS}
    return by_folded.get(" ".join(text.split()).casefold(), text)


def approve(
    candidate: CandidateArg,
    title: Annotated[str | None, typer.Option(help="replace the drafted title")] = None,
    summary: Annotated[str | None, typer.Option(help="replace the drafted summary")] = None,
    impact: Annotated[str | None, typer.Option(help="what changed for users or the business, in your words")] = None,
    section: Annotated[
        str | None,
        typer.Option(help=f"brag-doc section (any case): {', '.join(SECTIONS)}", callback=_section),
    ] = None,
) -> None:
    """Approve a candidate into the brag doc, optionally rewording it."""
    done = _review(lambda r: r.approve(candidate, title=title, summary=summary, impact=impact, section=section))
    console.print(f"Approved {done.public_id}: {escape(one_line(done.title))}", highlight=False, soft_wrap=True)


def reject(candidate: CandidateArg) -> None:
    """Reject a candidate: it stays out of the brag doc and the digest."""
    done = _review(lambda r: r.reject(candidate))
    console.print(f"Rejected {done.public_id}: {escape(one_line(done.title))}", highlight=False, soft_wrap=True)


def merge(
    target: Annotated[str, typer.Argument(metavar="ID", help="the candidate to keep")],
    other: Annotated[str, typer.Argument(metavar="OTHER_ID", help="the candidate whose items move into ID")],
) -> None:
    """Merge OTHER_ID into ID; later re-clustering keeps their items together."""
    done = _review(lambda r: r.merge(target, other))
    console.print(f"Merged {escape(other)} into {done.public_id}: {escape(one_line(done.title))}", highlight=False)


def split(
    candidate: CandidateArg,
    activity_id: Annotated[str, typer.Argument(help="the item to take out (`brag candidates --format json`)")],
) -> None:
    """Take one item out of a candidate into its own; later re-clustering keeps them apart."""
    done = _review(lambda r: r.split(candidate, activity_id))
    console.print(f"Split {escape(activity_id)} out of {escape(candidate)} into {done.public_id}", highlight=False)


def include(
    activity_id: Annotated[
        str, typer.Argument(help="an item left out of every candidate (`brag candidates --format json`, left_out)")
    ],
) -> None:
    """Make a candidate of an item left out of every candidate (a 1:1 or stand-up that was a win)."""
    from harvester.review import ReviewService

    with user_errors():
        context = open_context()
        with context.sessions.begin() as session:
            done = ReviewService(session, context.user_id).include(activity_id, context.zone)
    console.print(f"Made {done.public_id} of {escape(activity_id)}: {escape(one_line(done.title))}", highlight=False)


def undo() -> None:
    """Undo the most recent review action (from the terminal, the web page or an email link)."""
    done = _review(lambda r: r.undo())
    if not done.applied:
        err_console.print(f"[bold red]error:[/] {escape(done.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_SOURCE_FAILED)
    console.print(escape(done.message), highlight=False)


def review() -> None:
    """Walk the pending candidates one by one, one key each: approve, reject, merge, split, undo, skip."""
    from harvester.cli.review_terminal import run_review

    with user_errors():
        context = open_context()
        context.finish_clustering()
        run_review(console, context.sessions, context.user_id, context.zone)
