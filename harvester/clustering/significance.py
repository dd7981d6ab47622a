"""How much a candidate is worth bringing to a review, from what its records already say.

A score with its reasons, so the digest can put the best first and say why. Every signal is read
from the activity records (`kind`, `labels`, `extra`) and the metrics found in their text; nothing
is fetched. The weights are declared here, in points, and are deliberately few and coarse: they
order a week's five to ten wins, they do not measure people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harvester.clustering.meetings import classify
from harvester.clustering.model import Metric
from harvester.records import Activity

# what one item of each kind is worth on its own, as the user's work
KIND_POINTS = {"pull_request": 1.0, "ticket": 1.0, "commit": 0.4, "review": 0.3, "event": 0.2}
# Jira issue types (default schemes of Jira Software and Service Management), lower case
ISSUE_TYPE_POINTS = {"epic": 1.0, "incident": 1.5, "bug": 0.5, "story": 0.5, "improvement": 0.4, "new feature": 0.6}
# Jira's default priorities, plus the common "Critical"/"Blocker" of older schemes
PRIORITY_POINTS = {"highest": 1.0, "blocker": 1.0, "critical": 1.0, "high": 0.5}
# labels that mark work a manager asks about, by a word in the label
LABEL_WORDS = {
    "incident": "incident",
    "outage": "incident",
    "sev": "incident",
    "security": "security",
    "cve": "security",
    "vuln": "security",
    "customer": "customer-facing",
    "performance": "performance",
    "perf": "performance",
    "latency": "performance",
}
LABEL_POINTS = 0.8
MAX_STORY_POINTS = 13
POINTS_PER_STORY_POINT = 0.15
EPIC_POINTS = 0.4
FIRST_METRIC_POINTS = 1.0
MORE_METRIC_POINTS = 0.3
MAX_METRICS_COUNTED = 3
# a PR with its ticket and its postmortem is confirmed three ways; each further source adds this
CONFIRMING_SOURCE_POINTS = 0.6
MEETING_POINTS = {
    "incident": 1.0,
    "postmortem": 0.8,
    "talk": 1.0,
    "training": 0.8,
    "design_review": 0.6,
    "interview": 0.5,
}
ORGANISED_POINTS = 0.3
REVIEW_CHANGES_REQUESTED_POINTS = 0.2
REVIEW_COMMENT_POINTS = 0.05
MAX_REVIEW_COMMENTS = 20


@dataclass(frozen=True, slots=True)
class Significance:
    score: float
    reasons: tuple[str, ...]


def significance(activities: Sequence[Activity], metrics: Sequence[Metric] = ()) -> Significance:
    """The candidate's score and the reasons that raised it, strongest first."""
    found: list[tuple[float, str]] = []
    work = [a for a in activities if a.kind != "event"]
    base = max((KIND_POINTS.get(a.kind, 0.2) for a in activities), default=0.0)
    found.append((base, ""))
    found += _ticket_signals([a for a in work if a.kind == "ticket"])
    found += _label_signals(activities)
    found += _metric_signals(metrics)
    found += _confirmation_signals(activities)
    found += _meeting_signals([a for a in activities if a.kind == "event"], alone=not work)
    found += _review_signals([a for a in activities if a.kind == "review"])
    score = round(sum(points for points, _ in found), 2)
    reasons = tuple(reason for points, reason in sorted(found, key=lambda f: -f[0]) if reason and points > 0)
    return Significance(score, tuple(dict.fromkeys(reasons)))


def _ticket_signals(tickets: Sequence[Activity]) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    if not tickets:
        return found
    issue_types = {str(t.extra.get("issue_type") or "").lower() for t in tickets}
    best_type = max(issue_types, key=lambda name: ISSUE_TYPE_POINTS.get(name, 0.0))
    if ISSUE_TYPE_POINTS.get(best_type):
        found.append((ISSUE_TYPE_POINTS[best_type], best_type))
    priorities = {str(t.extra.get("priority") or "").lower() for t in tickets}
    best_priority = max(priorities, key=lambda name: PRIORITY_POINTS.get(name, 0.0))
    if PRIORITY_POINTS.get(best_priority):
        found.append((PRIORITY_POINTS[best_priority], f"{best_priority} priority"))
    points = sum(_number(t.extra.get("story_points")) for t in tickets)
    if points > 0:
        shown = f"{points:g} story point{'s' if points != 1 else ''}"
        found.append((min(points, MAX_STORY_POINTS) * POINTS_PER_STORY_POINT, shown))
    epics = {str(t.extra.get("epic_summary") or t.extra.get("epic")) for t in tickets if t.extra.get("epic")}
    if epics:
        found.append((EPIC_POINTS, f"part of {sorted(epics)[0]}"))
    return found


def _label_signals(activities: Sequence[Activity]) -> list[tuple[float, str]]:
    marked = {
        meaning
        for activity in activities
        for label in activity.labels
        for word, meaning in LABEL_WORDS.items()
        if word in label.lower()
    }
    return [(LABEL_POINTS, meaning) for meaning in sorted(marked)]


def _metric_signals(metrics: Sequence[Metric]) -> list[tuple[float, str]]:
    if not metrics:
        return []
    counted = min(len(metrics), MAX_METRICS_COUNTED)
    points = FIRST_METRIC_POINTS + MORE_METRIC_POINTS * (counted - 1)
    return [(points, f"measured: {metrics[0].text}")]


def _confirmation_signals(activities: Sequence[Activity]) -> list[tuple[float, str]]:
    kinds = {a.kind for a in activities}
    if len(kinds) < 2:
        return []
    described = " + ".join(_KIND_WORDS.get(kind, kind) for kind in sorted(kinds, key=_KIND_ORDER.index))
    return [(CONFIRMING_SOURCE_POINTS * (len(kinds) - 1), f"confirmed by {described}")]


def _meeting_signals(events: Sequence[Activity], *, alone: bool) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    for event in events:
        meeting = classify(event)
        points = MEETING_POINTS.get(meeting.kind, 0.0)
        if points:
            found.append((points, meeting.kind.replace("_", " ")))
        if meeting.organised and (alone or points):
            found.append((ORGANISED_POINTS, "you organised it"))
    return found


def _review_signals(reviews: Sequence[Activity]) -> list[tuple[float, str]]:
    if not reviews:
        return []
    found: list[tuple[float, str]] = []
    if len(reviews) > 1:
        found.append((KIND_POINTS["review"] * (len(reviews) - 1), f"{len(reviews)} reviews"))
    changes = sum(1 for r in reviews if str(r.extra.get("state") or "") == "CHANGES_REQUESTED")
    if changes:
        found.append((REVIEW_CHANGES_REQUESTED_POINTS * changes, f"changes requested on {changes}"))
    comments = sum(int(_number(r.extra.get("comments"))) for r in reviews)
    if comments:
        points = REVIEW_COMMENT_POINTS * min(comments, MAX_REVIEW_COMMENTS)
        found.append((points, f"{comments} review comment{'s' if comments != 1 else ''}"))
    return found


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


_KIND_ORDER = ["pull_request", "commit", "ticket", "review", "event"]
_KIND_WORDS = {"pull_request": "PR", "commit": "commit", "ticket": "ticket", "review": "review", "event": "meeting"}

__all__ = ["Significance", "significance"]
