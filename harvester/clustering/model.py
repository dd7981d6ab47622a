"""Plain value types the clustering step takes and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

CandidateState = Literal["pending", "approved", "rejected", "edited"]
# anything the user has looked at is locked: its items stay where the user left them
LOCKED_STATES: frozenset[str] = frozenset({"approved", "rejected", "edited"})

Section = Literal[
    "Projects",
    "Collaboration & mentorship",
    "Design & documentation",
    "Company building",
    "Learning",
    "Outside of work",
]
SECTIONS: tuple[str, ...] = get_args(Section)

# the two public JSON shapes of a candidate, each in its key order: `brag cluster` writes what
# clustering drafted; `brag candidates --format json` adds what the store and the review know, and
# the project (the epic's name) read from its items; new keys go at the end
CLUSTER_KEYS = ("id", "title", "summary", "activity_ids", "metrics", "section", "why")
STORED_KEYS = (
    "id",
    "week",
    "state",
    "title",
    "summary",
    "section",
    "why",
    "impact",
    "metrics",
    "activity_ids",
    "project",
)

MetricKind = Literal["percent", "latency", "duration", "multiplier", "money"]


@dataclass(frozen=True, slots=True)
class Metric:
    """A number with a unit found in an activity's title or body.

    `start`/`end` are character offsets into `field` of the activity, so a UI can highlight
    the exact span; `before`/`after` are set when the text states a change ("from 300 ms to 120 ms"),
    `value` is the single figure otherwise (and the `after` figure for a change).
    """

    kind: MetricKind
    text: str
    activity_id: str
    field: Literal["title", "body"]
    start: int
    end: int
    unit: str
    value: float | None
    before: float | None = None
    after: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "activity_id": self.activity_id,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "unit": self.unit,
            "value": self.value,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True, slots=True)
class ExistingCandidate:
    """A candidate from an earlier run, with what the user did to it."""

    id: str
    activity_ids: tuple[str, ...]
    state: CandidateState = "pending"

    @property
    def locked(self) -> bool:
        return self.state in LOCKED_STATES


@dataclass(frozen=True, slots=True)
class Constraints:
    """The user's merges (must-link) and splits (cannot-link), as pairs of activity ids."""

    must_link: tuple[tuple[str, str], ...] = ()
    cannot_link: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate accomplishment: a group of activities with a drafted brag-doc bullet."""

    id: str
    title: str
    summary: str
    activity_ids: tuple[str, ...]
    metrics: tuple[Metric, ...]
    section: Section
    why: str
    state: CandidateState = "pending"

    def to_json(self) -> dict[str, Any]:
        """The `brag cluster` output shape (public interface; `state` stays internal)."""
        metrics = [m.to_json() for m in self.metrics]
        return candidate_json(self.id, self.title, self.summary, self.section, self.why, metrics, self.activity_ids)


@dataclass(frozen=True, slots=True)
class Reviewed:
    """What the store adds to a drafted candidate: its week, its review state and the user's impact."""

    week: str
    state: str
    impact: str | None


def candidate_json(
    id: str,
    title: str,
    summary: str,
    section: str,
    why: str,
    metrics: Sequence[Mapping[str, Any]],
    activity_ids: Sequence[str],
    reviewed: Reviewed | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """A candidate in its public JSON shape: `brag cluster`'s, or with `reviewed` `brag candidates`'s.

    Both shapes are public interfaces; their keys and key order are CLUSTER_KEYS and STORED_KEYS.
    `project` (the name of the epic its items belong to, None outside any) is in the stored shape only.
    """
    fields: dict[str, Any] = {
        "id": id,
        "title": title,
        "summary": summary,
        "section": section,
        "why": why,
        "metrics": [dict(metric) for metric in metrics],
        "activity_ids": list(activity_ids),
    }
    if reviewed is None:
        return {key: fields[key] for key in CLUSTER_KEYS}
    fields.update(week=reviewed.week, state=reviewed.state, impact=reviewed.impact, project=project)
    return {key: fields[key] for key in STORED_KEYS}
