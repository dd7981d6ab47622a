"""`brag candidates` and `brag cluster`: the drafted accomplishments, from the store or from records."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from harvester.cli.common import console, err_console, open_context, read_config, user_errors

if TYPE_CHECKING:
    from harvester.clustering.setaside import SetAside
    from harvester.records import Activity


class CandidateFormat(StrEnum):
    table = "table"
    json = "json"


def candidates(
    week: Annotated[
        str | None, typer.Option(help="ISO week like 2026-W46; default: every week with pending ones")
    ] = None,
    format: Annotated[CandidateFormat, typer.Option("--format", help="table or json")] = CandidateFormat.table,
) -> None:
    """List candidate accomplishments; the ids are the ones review commands take."""
    from harvester.cli.tables import candidate_table
    from harvester.clustering.model import Reviewed, candidate_json
    from harvester.clustering.setaside import left_out
    from harvester.digest.ranking import rank_key
    from harvester.documents.projects import projects_of
    from harvester.store import repository
    from harvester.timeutil import iso_week_window

    with user_errors():
        context = open_context()
        context.finish_clustering()
        if week is not None:
            try:
                iso_week_window(week, context.zone)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--week") from None
        with context.sessions() as session:
            rows = repository.candidate_rows(
                session,
                context.user_id,
                weeks=[week] if week else None,
                states=None if week else ["pending"],
            )
            rows = [row for row in rows if row.state != "merged"]
            members = repository.candidate_members(session, [row.id for row in rows])
            # the digest's and the review page's order: by week, work best first, meetings after it
            learned = repository.user_model(session, context.user_id).ranking
            rows.sort(key=lambda row: rank_key(row.week, members[row.id], row.metrics, learned))
            aside = []
            for listed in sorted({week} if week else {row.week for row in rows}):
                window = iso_week_window(listed, context.zone)
                ungrouped = repository.ungrouped_activities(
                    session, context.user_id, since=window.start, until=window.end
                )
                aside += [_left_out_json(activity, listed, rule) for activity, rule in left_out(ungrouped)]
    if format is CandidateFormat.json:
        projects = projects_of(members)
        payload = [
            candidate_json(
                row.public_id,
                row.title,
                row.summary,
                row.section,
                row.why,
                row.metrics,
                [a.id for a in members[row.id]],
                Reviewed(row.week, row.state, row.impact),
                project=project.name if (project := projects[row.id]) else None,
            )
            for row in rows
        ]
        document = {"candidates": payload, "left_out": aside}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        console.print("No candidates" + (f" in {week}." if week else " waiting for review."))
    else:
        console.print(candidate_table(rows, members))
    if aside:
        count = len(aside)
        console.print(
            f"{count} meeting{'s' if count != 1 else ''} (1:1s, rituals, blocks, meetings about no work) left out"
            " of every candidate; `--format json` lists each with its rule, the review page can make a candidate"
            " of one."
        )


def _left_out_json(activity: Activity, week: str, rule: SetAside) -> dict[str, Any]:
    """An item no candidate holds, with the rule that left it out (`brag candidates --format json`)."""
    return {
        "activity_id": activity.id,
        "week": week,
        "kind": activity.kind,
        "title": activity.title,
        "occurred_at": activity.occurred_at.isoformat(),
        "rule": rule.rule,
        "why": rule.why,
    }


def cluster(
    file: Annotated[str, typer.Argument(help="activity records (JSONL), or - for standard input")] = "-",
    batches: Annotated[
        bool, typer.Option("--batches", help='each line is {"batch_id": ..., "activities": [...]}')
    ] = False,
    model: Annotated[str | None, typer.Option(help="spaCy pipeline; default: [nlp] model")] = None,
) -> None:
    """Group activity records into candidate accomplishments, without a database."""
    from harvester.cli.cluster_records import run_cluster_command

    with user_errors():
        settings = read_config(missing_ok=True).settings
        wanted, zone = model or settings.nlp.model, settings.user.zone()
    try:
        if file == "-":
            code = run_cluster_command(sys.stdin, sys.stdout, sys.stderr, batches=batches, model=wanted, zone=zone)
        else:
            try:
                handle = open(file, encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                err_console.print(f"[bold red]error:[/] cannot read {escape(file)}: {escape(exc.strerror or '')}")
                raise typer.Exit(2) from None
            with handle:
                code = run_cluster_command(handle, sys.stdout, sys.stderr, batches=batches, model=wanted, zone=zone)
    except UnicodeDecodeError as exc:
        err_console.print(f"[bold red]error:[/] the input is not UTF-8 text (byte {exc.start} of a line)")
        raise typer.Exit(2) from None
    raise typer.Exit(code)
