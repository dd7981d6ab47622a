"""The brag doc: approved candidates as entries, newest first, grouped by quarter and then section."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from itertools import groupby

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from harvester.clustering import SECTIONS
from harvester.display import one_line, safe_url, visible
from harvester.documents.evidence import Evidence, evidence_of
from harvester.store import repository
from harvester.timeutil import quarter_label


@dataclass(frozen=True)
class BragEntry:
    candidate_id: str
    day: date
    title: str
    impact: str | None
    section: str
    summary: str
    evidence: tuple[Evidence, ...]
    metrics: tuple[str, ...]

    @property
    def quarter(self) -> str:
        return quarter_label(self.day)


@dataclass(frozen=True)
class QuarterGroup:
    quarter: str
    sections: tuple[tuple[str, tuple[BragEntry, ...]], ...]


def entries(session: Session, user_id: int, zone: tzinfo) -> list[BragEntry]:
    """Every approved candidate as a brag-doc entry, newest first."""
    rows = repository.candidate_rows(session, user_id, states=["approved"])
    members = repository.candidate_members(session, [row.id for row in rows])
    gone = repository.gone_member_ids(session, [row.id for row in rows])
    result = []
    for row in rows:
        activities = members[row.id]
        if not activities:
            continue
        evidence = tuple(evidence_of(a, zone, gone=a.id in gone) for a in activities)
        result.append(
            BragEntry(
                candidate_id=row.public_id,
                day=max(e.day for e in evidence),
                title=one_line(row.title),
                impact=visible(row.impact) if row.impact else row.impact,
                section=one_line(row.section),
                summary=visible(row.summary),
                evidence=evidence,
                metrics=tuple(one_line(str(m.get("text", ""))) for m in row.metrics or ()),
            )
        )
    return sorted(result, key=lambda e: (e.day, e.candidate_id), reverse=True)


def grouped(doc_entries: Sequence[BragEntry]) -> list[QuarterGroup]:
    """Quarters newest first; within a quarter, sections in the brag-doc order; entries newest first."""
    ordered = sorted(doc_entries, key=lambda e: (e.quarter, e.day), reverse=True)
    groups = []
    for quarter, in_quarter in groupby(ordered, key=lambda e: e.quarter):
        items = list(in_quarter)
        sections = tuple(
            (section, tuple(e for e in items if e.section == section))
            for section in (*SECTIONS, *sorted({e.section for e in items} - set(SECTIONS)))
            if any(e.section == section for e in items)
        )
        groups.append(QuarterGroup(quarter, sections))
    return groups


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md(text: str) -> str:
    """Harvested text as literal Markdown: markup characters escaped, newlines folded."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


def md_link(label: str, url: str) -> str:
    """A Markdown link whose target cannot end early; just the label when `url` is not a web link."""
    target = safe_url(url)
    return f"[{label}](<{target}>)" if target else label


def render_markdown(doc_entries: Sequence[BragEntry], title: str = "Brag document") -> str:
    lines = [f"# {md(title)}", ""]
    if not doc_entries:
        lines += ["No approved entries yet. Review this week's candidates with `brag review`.", ""]
    for group in grouped(doc_entries):
        lines += [f"## {group.quarter}", ""]
        for section, section_entries in group.sections:
            lines += [f"### {md(section)}", ""]
            for entry in section_entries:
                lines.append(f"- **{md(entry.title)}** ({entry.day.isoformat()})")
                lines.append(f"  - Impact: {md(entry.impact)}" if entry.impact else "  - Impact: _not written yet_")
                if entry.metrics:
                    lines.append(f"  - Numbers: {md('; '.join(entry.metrics))}")
                for evidence in entry.evidence:
                    link = md_link(f"{md(evidence.kind)}: {md(evidence.title)}", evidence.url)
                    lines.append(f"  - {link} {evidence.gone_label}".rstrip())
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_environment = Environment(
    loader=PackageLoader("harvester", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(doc_entries: Sequence[BragEntry], title: str = "Brag document", standalone: bool = True) -> str:
    template = _environment.get_template("bragdoc.html.j2")
    return template.render(title=title, groups=grouped(doc_entries), empty=not doc_entries, standalone=standalone)
