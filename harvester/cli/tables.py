"""Rich renderings shared by the CLI and the demo; every harvested string is escaped, never markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo

from rich.markup import escape
from rich.table import Table

from harvester.display import one_line, visible
from harvester.records import Activity
from harvester.store.models import CandidateRow
from harvester.timeutil import local_time


def activity_table(records: Sequence[Activity], zone: tzinfo, title: str | None = None) -> Table:
    table = Table(title=title or f"{len(records)} activities", title_justify="left")
    for column in ("when", "kind", "repo", "title"):
        table.add_column(column, overflow="fold")
    for record in records:
        when = f"{local_time(record.occurred_at, zone):%a %Y-%m-%d %H:%M}"
        table.add_row(when, record.kind, escape(one_line(record.repo)), escape(one_line(record.title)))
    return table


def candidate_table(rows: Sequence[CandidateRow], members: Mapping[int, Sequence[Activity]]) -> Table:
    table = Table(title=f"{len(rows)} candidates", title_justify="left", show_lines=True)
    for column in ("id", "week", "state", "candidate", "evidence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        why = one_line(f"{row.section} · {row.why}")
        text = f"[bold]{escape(one_line(row.title))}[/]\n{escape(visible(row.summary))}\n[dim]{escape(why)}[/]"
        if row.metrics:
            text += "\n[green]" + escape(one_line("; ".join(str(m["text"]) for m in row.metrics))) + "[/]"
        if row.impact:
            text += f"\n[cyan]impact:[/] {escape(visible(row.impact))}"
        evidence = "\n".join(escape(one_line(f"{a.kind}: {a.title}")) for a in members.get(row.id, ()))
        table.add_row(row.public_id, row.week, row.state, text, evidence)
    return table
