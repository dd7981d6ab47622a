"""The brag doc: approved candidates as entries, newest first, grouped by quarter, then by project or section."""

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
from harvester.documents.projects import Project, project_heading, projects_of
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
    # the epic (or parent) the entry's work belongs to; None for work outside any
    project: Project | None = None

    @property
    def quarter(self) -> str:
        return quarter_label(self.day)


@dataclass(frozen=True)
class ProjectGroup:
    """A project's entries of one period, newest first, under "Payments reliability: 4 entries"."""

    project: Project
    entries: tuple[BragEntry, ...]

    @property
    def heading(self) -> str:
        return project_heading(self.project.name, len(self.entries))


@dataclass(frozen=True)
class QuarterGroup:
    quarter: str
    # entries without a project, by section; those with one are in `projects`
    sections: tuple[tuple[str, tuple[BragEntry, ...]], ...]
    projects: tuple[ProjectGroup, ...] = ()


def entries(session: Session, user_id: int, zone: tzinfo) -> list[BragEntry]:
    """Every approved candidate as a brag-doc entry, newest first."""
    rows = repository.candidate_rows(session, user_id, states=["approved"])
    members = repository.candidate_members(session, [row.id for row in rows])
    gone = repository.gone_member_ids(session, [row.id for row in rows])
    projects = projects_of(members)
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
                project=projects[row.id],
            )
        )
    return sorted(result, key=lambda e: (e.day, e.candidate_id), reverse=True)


def by_project(doc_entries: Sequence[BragEntry]) -> list[ProjectGroup]:
    """The entries that have a project, one group per epic key, in the order `doc_entries` came in.

    Groups with more entries come first, then the one with the newer entry, then by name; a group
    is named as its newest entry's project (names are resolved across weeks by `projects_of`).
    """
    keyed: dict[str, list[BragEntry]] = {}
    for entry in doc_entries:
        if entry.project is not None:
            keyed.setdefault(entry.project.key, []).append(entry)
    groups = []
    for key, members in keyed.items():
        newest = max(members, key=lambda e: (e.day, e.candidate_id))
        groups.append(ProjectGroup(newest.project or Project(key, key), tuple(members)))
    return sorted(
        groups,
        key=lambda g: (-len(g.entries), -max(e.day for e in g.entries).toordinal(), g.project.name.casefold()),
    )


def grouped(doc_entries: Sequence[BragEntry]) -> list[QuarterGroup]:
    """Quarters newest first; within a quarter, projects first, then the other entries by section in
    the brag-doc order; entries newest first."""
    ordered = sorted(doc_entries, key=lambda e: (e.quarter, e.day), reverse=True)
    groups = []
    for quarter, in_quarter in groupby(ordered, key=lambda e: e.quarter):
        items = list(in_quarter)
        loose = [e for e in items if e.project is None]
        sections = tuple(
            (section, tuple(e for e in loose if e.section == section))
            for section in (*SECTIONS, *sorted({e.section for e in loose} - set(SECTIONS)))
            if any(e.section == section for e in loose)
        )
        groups.append(QuarterGroup(quarter, sections, tuple(by_project(items))))
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
        headed = [(project.heading, project.entries) for project in group.projects] + list(group.sections)
        for heading, heading_entries in headed:
            lines += [f"### {md(heading)}", ""]
            for entry in heading_entries:
                lines += _markdown_entry(entry)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def metrics_beside(impact: str | None, metrics: Sequence[str]) -> tuple[str, ...]:
    """The measured numbers worth listing under the user's impact sentence, one per line.

    The impact sentence leads; a number it already states ("p99 from 300 ms to 120 ms") is not
    repeated below it as a fragment, and the same number found twice is listed once.
    """
    said = (impact or "").casefold()
    shown: list[str] = []
    for metric in metrics:
        text = metric.strip()
        if text and text.casefold() not in said and text not in shown:
            shown.append(text)
    return tuple(shown)


def _markdown_entry(entry: BragEntry) -> list[str]:
    lines = [f"- **{md(entry.title)}** ({entry.day.isoformat()})"]
    lines.append(f"  - Impact: {md(entry.impact)}" if entry.impact else "  - Impact: _not written yet_")
    lines += [f"  - Measured: {md(metric)}" for metric in metrics_beside(entry.impact, entry.metrics)]
    for evidence in entry.evidence:
        link = md_link(f"{md(evidence.kind)}: {md(evidence.title)}", evidence.url)
        lines.append(f"  - {link} {evidence.gone_label}".rstrip())
    return lines


_environment = Environment(
    loader=PackageLoader("harvester", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals["metrics_beside"] = metrics_beside


def render_html(doc_entries: Sequence[BragEntry], title: str = "Brag document", standalone: bool = True) -> str:
    template = _environment.get_template("bragdoc.html.j2")
    return template.render(title=title, groups=grouped(doc_entries), empty=not doc_entries, standalone=standalone)
