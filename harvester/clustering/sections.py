"""Which brag-document section a candidate belongs in."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from harvester.clustering.model import Section
from harvester.records import Activity

# keyword cues, checked in this order; the first section with the most hits wins
_CUES: dict[Section, re.Pattern[str]] = {
    "Collaboration & mentorship": re.compile(
        r"\b(1[:-]1|one[- ]on[- ]one|mentor\w*|interview\w*|pairing|pair programming|coaching|"
        r"office hours|onboard(ing)? (buddy|session))\b",
        re.IGNORECASE,
    ),
    "Design & documentation": re.compile(
        r"\b(design (doc|review|document)s?|rfc|adr|architecture|documentation|docs?|runbook|"
        r"spec(ification)?|write-?up|readme|proposal)\b",
        re.IGNORECASE,
    ),
    "Company building": re.compile(
        r"\b(hiring|recruit\w*|all[- ]hands|offsite|culture|career (fair|ladder)|hackathon|"
        r"town ?hall|interview loop|headcount)\b",
        re.IGNORECASE,
    ),
    "Learning": re.compile(
        r"\b(course|training|workshop|conference|certification|book club|learning|tutorial|"
        r"study group|lunch (and|&) learn)\b",
        re.IGNORECASE,
    ),
    "Outside of work": re.compile(r"\b(volunteer\w*|meetup|charity|side project)\b", re.IGNORECASE),
}
_DOC_FILE = re.compile(r"(^|/)(docs?|adr|rfcs?|design)/|\.(md|rst|adoc|txt)$", re.IGNORECASE)
_DOC_LABELS = frozenset({"documentation", "docs", "design", "rfc"})
_WORK_KINDS = frozenset({"pull_request", "commit", "ticket"})


def suggest_section(activities: Sequence[Activity]) -> Section:
    """Reviews and 1:1s go to collaboration, design docs to design, shipped work to projects;
    meetings follow the work they join."""
    kinds = Counter(a.kind for a in activities)
    work = [a for a in activities if a.kind in _WORK_KINDS]
    if work:
        if all(_is_documentation(a) for a in work):
            return "Design & documentation"
        return "Projects"
    if kinds["review"] >= kinds["event"]:
        return "Collaboration & mentorship"
    text = " ".join(a.title + " " + a.body[:200] for a in activities)
    hits = {section: len(pattern.findall(text)) for section, pattern in _CUES.items()}
    best = max(hits.values())
    if best:
        return next(section for section, count in hits.items() if count == best)
    # a meeting with no cue is still time spent with other people
    return "Collaboration & mentorship"


def _is_documentation(activity: Activity) -> bool:
    if {label.lower() for label in activity.labels} & _DOC_LABELS:
        return True
    if activity.paths:
        return all(_DOC_FILE.search(p) for p in activity.paths)
    return bool(_CUES["Design & documentation"].search(activity.title))
