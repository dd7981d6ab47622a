"""`brag doc` and `brag export`: the brag doc and the quarter's summary."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harvester.cli.common import _day, console, open_context, user_errors
from harvester.documents.renderers import ExportFormat

if TYPE_CHECKING:
    pass


class DocFormat(StrEnum):
    md = "md"
    html = "html"


def doc(
    format: Annotated[DocFormat, typer.Option("--format", help="md (Markdown) or html")] = DocFormat.md,
    output: Annotated[Path | None, typer.Option("--output", help="write to this file instead of the terminal")] = None,
) -> None:
    """Render the brag doc: approved entries, newest first, by quarter, then by project (epic) or section."""
    from harvester.documents import bragdoc

    with user_errors():
        context = open_context()
        context.finish_clustering()
        with context.sessions() as session:
            doc_entries = bragdoc.entries(session, context.user_id, context.zone)
    text = bragdoc.render_html(doc_entries) if format is DocFormat.html else bragdoc.render_markdown(doc_entries)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"Wrote {len(doc_entries)} entries to {escape(str(output))}")


def export(
    quarter: Annotated[str | None, typer.Option(help="a quarter like 2026Q4")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="first day, inclusive (instead of --quarter)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="last day, inclusive (instead of --quarter)")] = None,
    format: Annotated[ExportFormat, typer.Option("--format", help="md, html, pdf or docx")] = ExportFormat.md,
    output: Annotated[Path | None, typer.Option("--output", help="write to this file instead of the terminal")] = None,
) -> None:
    """A summary of a quarter (or any range of days) a manager can read in five minutes."""
    from harvester.documents import bragdoc
    from harvester.documents.export import build, quarter_period, range_period
    from harvester.documents.renderers import render

    if quarter is not None and (from_ is not None or to is not None):
        raise typer.BadParameter("use either --quarter or --from/--to", param_hint="--quarter")
    if quarter is None and (from_ is None or to is None):
        raise typer.BadParameter("give --quarter 2026Q4, or both --from and --to", param_hint="--quarter")
    if format in (ExportFormat.pdf, ExportFormat.docx) and output is None:
        raise typer.BadParameter(f"{format.value} is a binary file: give --output FILE", param_hint="--output")
    try:
        if quarter is not None:
            period = quarter_period(quarter)
        else:
            first, last = _day(from_, "--from"), _day(to, "--to")
            assert first is not None and last is not None
            period = range_period(first, last)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--quarter" if quarter else "--to") from None
    with user_errors():
        context = open_context()
        context.finish_clustering()
        with context.sessions() as session:
            document = build(
                bragdoc.entries(session, context.user_id, context.zone), period, author=context.person_name
            )
        data = render(document, format)
    if output is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    output.write_bytes(data)
    note = f" ({document.overview.missing_impact_note})" if document.overview.missing_impact_note else ""
    console.print(
        f"Wrote {document.overview.total} entries of {escape(period.label)} to {escape(str(output))}{note}",
        soft_wrap=True,
    )
