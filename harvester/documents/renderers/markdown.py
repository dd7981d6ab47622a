"""An export document as Markdown, with GitHub-style numbered footnotes for the evidence."""

from __future__ import annotations

from harvester.display import safe_url
from harvester.documents.bragdoc import md
from harvester.documents.export import ExportDocument, Footnote, Item, Overview


def _counts(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{md(name)} {count}" for name, count in pairs)


def _overview(overview: Overview) -> list[str]:
    lines = [f"- **{overview.total}** {'entry' if overview.total == 1 else 'entries'}"]
    if overview.by_project:
        lines.append(f"- By project: {_counts(overview.by_project)}")
    if overview.by_section:
        lines.append(f"- By section: {_counts(overview.by_section)}")
    if overview.by_source:
        lines.append(f"- Evidence by source: {_counts(overview.by_source)}")
    if overview.themes:
        lines.append(f"- Top themes: {md(', '.join(overview.themes))}")
    if overview.missing_impact_note:
        # approving an approved entry again rewords it; `brag review` walks only pending candidates
        lines.append(
            f"- **{overview.missing_impact_note}**: add it with `brag approve ID --impact TEXT` "
            "(`brag candidates --week WEEK` lists the ids)"
        )
    return lines


def _footnote(note: Footnote) -> str:
    evidence = note.evidence
    text = f"{md(evidence.kind)}: {md(evidence.title)} ({evidence.day.isoformat()})"
    if evidence.gone:
        text += f" {evidence.gone_label}"
    url = safe_url(evidence.url)
    # an autolink: percent-encoded, so a `>` in the harvested URL cannot end it early
    return f"[^{note.number}]: {text} <{url}>" if url else f"[^{note.number}]: {text}"


def _item(item: Item) -> list[str]:
    refs = "".join(f"[^{note.number}]" for note in item.footnotes)
    lines = [f"- **{md(item.title)}** ({item.day.isoformat()}){refs}"]
    lines.append(f"  - Impact: {md(item.impact)}" if item.impact else "  - Impact: _not written yet_")
    lines += [f"  - Measured: {md(metric)}" for metric in item.metrics]
    return lines


def render_markdown(document: ExportDocument) -> str:
    lines = [f"# {md(document.title)}", "", f"_{md(document.period.dates)}_", "", "## Overview", ""]
    lines += _overview(document.overview)
    lines.append("")
    if document.empty:
        lines += ["No approved entries in this period.", ""]
    headed = [(part.heading, part.items) for part in document.projects]
    headed += [(part.name, part.items) for part in document.sections]
    for heading, items in headed:
        lines += [f"## {md(heading)}", ""]
        for item in items:
            lines += _item(item)
        lines.append("")
    if document.footnotes:
        lines += ["## Evidence", ""]
        lines += [_footnote(note) for note in document.footnotes]
    return "\n".join(lines).rstrip() + "\n"
