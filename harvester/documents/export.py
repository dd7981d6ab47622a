"""Summaries of a period (a quarter, a half year, a promotion cycle) as a plain document model.

Pure: it takes brag-doc entries and returns data the renderers in `harvester.documents.renderers` lay out,
so what a manager reads is decided (and tested) here, once, for every format.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from harvester.clustering import SECTIONS
from harvester.display import one_line
from harvester.documents.bragdoc import BragEntry, by_project, metrics_beside
from harvester.documents.evidence import Evidence, source_label
from harvester.documents.projects import project_heading
from harvester.timeutil import quarter_label

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_WORD = re.compile(r"[a-z][a-z0-9+#-]{2,}")

# words that say nothing about what the work was about; titles are mostly PR and ticket titles
_STOPWORD_TEXT = """
the and for with from into onto that this these those when then than not but are was were has have had
add adds added adding fix fixes fixed fixing update updates updated remove removes removed use uses make
makes new old more less all any some our your their its via per out off after before bump bumps
support supports refactor cleanup change changes changed move moves moved improve improves improved
meeting review reviews sync weekly daily
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
TOP_THEMES = 5


@dataclass(frozen=True)
class Period:
    """Whole days [start, end): what the summary covers, and how its title names it."""

    label: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def dates(self) -> str:
        """The days covered, as a person writes them: "1 October – 31 December 2026"."""
        first, last = self.start, self.last_day
        if first.year != last.year:
            return f"{_day(first)} {first.year} – {_day(last)} {last.year}"
        return f"{_day(first)} – {_day(last)} {last.year}"


# English month names whatever the process's locale (strftime's %B follows LC_TIME): the
# documents are written in English
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _day(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def quarter_period(label: str) -> Period:
    """`2026Q4` (or `2026-Q4`) as the days of that quarter."""
    match = _QUARTER.match(label.strip())
    if not match:
        raise ValueError(f"{label!r} is not a quarter like 2026Q4")
    year, quarter = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(f"{year}Q{quarter}", start, end)


def quarter_of(day: date) -> Period:
    return quarter_period(quarter_label(day))


def range_period(first: date, last: date) -> Period:
    """An inclusive range of days, the way people say it: "from 2026-01-01 to 2026-06-30"."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return Period(f"{first.isoformat()} – {last.isoformat()}", first, last + timedelta(days=1))


@dataclass(frozen=True)
class Footnote:
    """One piece of evidence, numbered once per document; the same link cited twice keeps its number."""

    number: int
    evidence: Evidence


@dataclass(frozen=True)
class Item:
    title: str
    day: date
    impact: str | None
    metrics: tuple[str, ...]
    footnotes: tuple[Footnote, ...]


@dataclass(frozen=True)
class SectionPart:
    name: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class ProjectPart:
    """A project's entries, in order of impact, under "Payments reliability: 4 entries"."""

    key: str
    name: str
    items: tuple[Item, ...]

    @property
    def heading(self) -> str:
        return project_heading(self.name, len(self.items))


@dataclass(frozen=True)
class Overview:
    total: int
    # entries without a project, per section; those with one are counted in `by_project`
    by_section: tuple[tuple[str, int], ...]
    by_source: tuple[tuple[str, int], ...]
    themes: tuple[str, ...]
    missing_impact: int
    by_project: tuple[tuple[str, int], ...] = ()

    @property
    def missing_impact_note(self) -> str:
        """The nudge at the top of the summary; empty when every entry has its impact."""
        if not self.missing_impact:
            return ""
        if self.missing_impact == 1:
            return "1 entry has no impact yet"
        return f"{self.missing_impact} entries have no impact yet"


@dataclass(frozen=True)
class ExportDocument:
    title: str
    period: Period
    overview: Overview
    sections: tuple[SectionPart, ...]
    footnotes: tuple[Footnote, ...]
    # listed before the sections: each epic's entries together, whatever their sections
    projects: tuple[ProjectPart, ...] = ()
    # whose work it is: on the title, and the DOCX/PDF author; empty when the name is unknown
    author: str = ""

    @property
    def empty(self) -> bool:
        return self.overview.total == 0


def impact_rank(entry: BragEntry) -> tuple[int, int, int, str]:
    """Sort key for "in order of impact", strongest first.

    An impact statement with a number in it (or measured metrics) reads strongest, then any
    impact statement, then none; among equals, more evidence first, then the newer entry.
    """
    has_impact = bool(entry.impact and entry.impact.strip())
    has_numbers = bool(entry.metrics) or bool(entry.impact and _NUMBER.search(entry.impact))
    tier = 0 if has_impact and has_numbers else 1 if has_impact else 2
    return (tier, -len(entry.evidence), -entry.day.toordinal(), entry.title.casefold())


def themes(entries: Iterable[BragEntry], limit: int = TOP_THEMES) -> tuple[str, ...]:
    """The words that recur across entry titles (in at least two entries), most frequent first."""
    counts: Counter[str] = Counter()
    for entry in entries:
        counts.update({word for word in _WORD.findall(entry.title.casefold()) if word not in _STOPWORDS})
    recurring = [(word, n) for word, n in counts.items() if n >= 2]
    recurring.sort(key=lambda pair: (-pair[1], pair[0]))
    return tuple(word for word, _ in recurring[:limit])


def clean(text: str) -> str:
    """Harvested text on one line, without control or bidi characters; escaping is each renderer's job."""
    return one_line(text)


def _section_order(names: Iterable[str]) -> list[str]:
    present = set(names)
    return [s for s in SECTIONS if s in present] + sorted(present - set(SECTIONS))


class _Numbering:
    """Evidence numbered in reading order, once per document: the same link cited twice keeps its number."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, str], Footnote] = {}

    def item(self, entry: BragEntry) -> Item:
        notes: list[Footnote] = []
        for evidence in entry.evidence:
            key = (evidence.url, "") if evidence.url else (evidence.kind, evidence.title)
            if key not in self.numbers:
                self.numbers[key] = Footnote(len(self.numbers) + 1, evidence)
            if self.numbers[key] not in notes:
                notes.append(self.numbers[key])
        impact = clean(entry.impact) if entry.impact else None
        metrics = metrics_beside(impact, [clean(m) for m in entry.metrics])
        return Item(clean(entry.title), entry.day, impact or None, metrics, tuple(notes))

    def items(self, entries: Iterable[BragEntry]) -> tuple[Item, ...]:
        return tuple(self.item(entry) for entry in sorted(entries, key=impact_rank))


def build(entries: Sequence[BragEntry], period: Period, title: str | None = None, author: str = "") -> ExportDocument:
    """The summary of `period` for `author`: the approved entries whose day falls in it, overview first.

    Entries of an epic (or parent) are listed together under their project, before the sections;
    the other entries stay in their sections.
    """
    chosen = [e for e in entries if period.contains(e.day)]
    numbering = _Numbering()
    projects = tuple(
        ProjectPart(clean(group.project.key), clean(group.project.name), numbering.items(group.entries))
        for group in by_project(chosen)
    )
    loose = [e for e in chosen if e.project is None]
    sections = tuple(
        SectionPart(clean(name), numbering.items(e for e in loose if e.section == name))
        for name in _section_order(e.section for e in loose)
    )
    sources: Counter[str] = Counter(source_label(evidence.source) for e in chosen for evidence in e.evidence)
    overview = Overview(
        total=len(chosen),
        by_section=tuple((part.name, len(part.items)) for part in sections),
        by_source=tuple(sorted(sources.items(), key=lambda pair: (-pair[1], pair[0]))),
        themes=themes(chosen),
        missing_impact=sum(1 for e in chosen if not (e.impact and e.impact.strip())),
        by_project=tuple((part.name, len(part.items)) for part in projects),
    )
    author = clean(author)
    return ExportDocument(
        title=clean(title) if title else f"Summary of {period.label}" + (f" for {author}" if author else ""),
        period=period,
        overview=overview,
        sections=sections,
        footnotes=tuple(numbering.numbers.values()),
        projects=projects,
        author=author,
    )
