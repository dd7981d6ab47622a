"""What kind of meeting an event is, from what the calendar says about it.

The digest names the meetings that are wins on their own (an interview given, an incident bridge
run, a talk or training given, a design review led, a meeting the user organised for many people)
and only counts the routine ones (1:1s, stand-ups, planning and retros, focus blocks, private
events, anything nobody else attends). Only the title and the calendar's metadata (`extra`:
`organized`, `attendee_count`, `recurring`) are used: descriptions are off by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from harvester.records import Activity

MeetingKind = Literal[
    "interview",
    "incident",
    "talk",
    "training",
    "design_review",
    "postmortem",
    "one_on_one",
    "ritual",
    "focus",
    "private",
    "solo",
    "large",
    "other",
]
# the title the Calendar connector gives an event marked private (connectors/google_calendar)
PRIVATE_TITLE = "Private event"
# "many attendees": a meeting the user organised for this many people or more is named
LARGE_MEETING = 8

# title patterns, most specific first: an "incident review" is a postmortem, not an incident bridge
_PATTERNS: tuple[tuple[MeetingKind, re.Pattern[str]], ...] = (
    ("one_on_one", re.compile(r"\b1\s*[:/-]\s*1\b|\bone[- ]on[- ]one\b|\b1on1\b", re.I)),
    # a block to get ready for something is not the thing: "Prep: tech talk slides", "Interview prep"
    ("focus", re.compile(r"\bprep(are|aring|aration)?\b", re.I)),
    ("interview", re.compile(r"\binterview|\bphone screen\b|\bonsite\b|\bdebrief\b.*\bcandidate", re.I)),
    (
        "postmortem",
        re.compile(r"\bpost[- ]?mortem|\bincident review\b|\bretro(spective)? (of|on|for) (the )?incident", re.I),
    ),
    ("incident", re.compile(r"\bincident\b|\bbridge\b|\boutage\b|\bsev ?[0-3]\b|\bwar ?room\b", re.I)),
    ("training", re.compile(r"\btraining\b|\bworkshop\b|\bonboarding session\b|\bbootcamp\b", re.I)),
    (
        "talk",
        re.compile(
            r"\btalk\b|\bbrown ?bag\b|\blunch (and|&) learn\b|\btech talk\b|\bpresent(s|ing|ation)\b|\bdemo day\b", re.I
        ),
    ),
    ("design_review", re.compile(r"\bdesign (review|doc|discussion)\b|\barchitecture review\b|\brfc\b", re.I)),
    # a bare "sync" names a topic ("CI migration sync"), so only a team's or the week's sync is a ritual
    (
        "ritual",
        re.compile(
            r"\bstand[- ]?up\b|\bdaily\b|\bscrum\b|\bsprint\b|\bplanning\b|\bretro(spective)?\b"
            r"|\brefinement\b|\bgrooming\b|\b(weekly|team) sync\b|\ball[- ]hands\b|\btown ?hall\b"
            r"|\bcoffee\b|\bhappy hour\b|\bsocial\b|\bteam building\b",
            re.I,
        ),
    ),
    (
        "focus",
        re.compile(
            r"\bfocus\b|\bno meetings?\b|\bheads[- ]down\b|\bblock(ed)?\b"
            r"|\blunch\b|\bout of office\b|\booo\b",
            re.I,
        ),
    ),
)
# kinds worth naming in the digest, as the user's own doing
NAMED_KINDS: frozenset[MeetingKind] = frozenset(
    {"interview", "incident", "talk", "training", "design_review", "postmortem", "large"}
)
ROUTINE_KINDS: frozenset[MeetingKind] = frozenset({"one_on_one", "ritual", "focus", "private", "solo"})


@dataclass(frozen=True, slots=True)
class Meeting:
    kind: MeetingKind
    organised: bool
    attendees: int

    @property
    def named(self) -> bool:
        """A meeting the digest names (not merely counts)."""
        return self.kind in NAMED_KINDS

    @property
    def routine(self) -> bool:
        return self.kind in ROUTINE_KINDS


def classify(activity: Activity) -> Meeting:
    """The kind of an event; anything not recognised is "other" (counted, not named)."""
    extra = activity.extra
    organised = bool(extra.get("organized"))
    attendees = whole_number(extra.get("attendee_count"))
    title = activity.title.strip()
    if title == PRIVATE_TITLE:
        return Meeting("private", organised, attendees)
    for kind, pattern in _PATTERNS:
        if pattern.search(title):
            return Meeting(kind, organised, attendees)
    # the calendar lists the user among the attendees; with nobody else it is the user's own block
    if attendees <= 1 and not extra.get("attendees_omitted"):
        return Meeting("solo", organised, attendees)
    if organised and attendees >= LARGE_MEETING:
        # a one-off the user gathered many people for is named; a series they host is the team's ritual
        return Meeting("ritual" if extra.get("recurring") else "large", organised, attendees)
    return Meeting("other", organised, attendees)


def whole_number(value: object) -> int:
    """A count from a record's `extra` (JSON: an int, or anything else a source sent), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


__all__ = ["LARGE_MEETING", "NAMED_KINDS", "ROUTINE_KINDS", "Meeting", "MeetingKind", "classify", "whole_number"]
