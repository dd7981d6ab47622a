"""Plain value types the clustering step takes and returns."""

from __future__ import annotations

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
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "activity_ids": list(self.activity_ids),
            "metrics": [m.to_json() for m in self.metrics],
            "section": self.section,
            "why": self.why,
        }
