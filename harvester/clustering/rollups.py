"""One line for the week's meetings that stand alone: named ones by kind, routine ones counted.

The title of the week's meetings roll-up candidate, and the email's meetings line:

"Led 2 design reviews, interviewed 3 candidates, ran the incident bridge for payouts stuck in
PENDING, and 5 routine meetings". A routine meeting's title never appears (a private event keeps
its privacy, a 1:1 names a person); an interview never names the candidate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from harvester import display
from harvester.clustering.meetings import Meeting, MeetingKind, classify
from harvester.records import Activity

# (one meeting with what it was about, one whose title says nothing more, several) per named
# kind, in the order shown
PHRASES: dict[MeetingKind, tuple[str, str, str]] = {
    "incident": ("ran the incident bridge for {about}", "ran an incident bridge", "ran {n} incident bridges"),
    "postmortem": ("led the postmortem of {about}", "led a postmortem", "led {n} postmortems"),
    "design_review": ("led the design review of {about}", "led a design review", "led {n} design reviews"),
    "talk": ("gave the talk “{about}”", "gave a talk", "gave {n} talks"),
    "training": ("ran the training on {about}", "ran a training", "ran {n} trainings"),
    "interview": ("interviewed a candidate", "interviewed a candidate", "interviewed {n} candidates"),
    "large": (
        "organised “{about}” for {people} people",
        "organised a meeting for {people} people",
        "organised {n} meetings for many people",
    ),
}
# a design review, postmortem or incident bridge the user only attended is not "led" or "ran"
ATTENDED: dict[MeetingKind, tuple[str, str, str]] = {
    "incident": ("joined the incident bridge for {about}", "joined an incident bridge", "joined {n} incident bridges"),
    "postmortem": (
        "took part in the postmortem of {about}",
        "took part in a postmortem",
        "took part in {n} postmortems",
    ),
    "design_review": (
        "took part in the design review of {about}",
        "took part in a design review",
        "took part in {n} design reviews",
    ),
}
# the words that made the kind, cut from the title to leave what the meeting was about
_KIND_WORDS = re.compile(
    r"\b(incident (bridge|review)|incident|bridge|war ?room|post[- ]?mortem|design (review|doc|discussion)"
    r"|architecture review|rfc|tech talk|talk|lunch (and|&) learn|brown ?bag|training|workshop)\b",
    re.I,
)
ABOUT_LIMIT = 80


def meeting_rollup(events: Sequence[Activity]) -> str:
    """The roll-up line for these stand-alone meetings, or "" when there are none."""
    named: dict[MeetingKind, list[tuple[Activity, Meeting]]] = {}
    routine = 0
    for event in events:
        meeting = classify(event)
        if meeting.named:
            named.setdefault(meeting.kind, []).append((event, meeting))
        else:
            routine += 1
    parts = [_phrase(kind, named[kind]) for kind in PHRASES if kind in named]
    if routine:
        counted = f"{routine} routine meeting{'s' if routine != 1 else ''}"
        parts.append(f"and {counted}" if parts else counted)
    line = ", ".join(parts)
    return line[:1].upper() + line[1:]


def _phrase(kind: MeetingKind, meetings: Sequence[tuple[Activity, Meeting]]) -> str:
    led = all(meeting.organised for _, meeting in meetings)
    about_it, bare, several = PHRASES[kind] if led or kind not in ATTENDED else ATTENDED[kind]
    if len(meetings) > 1:
        return several.format(n=len(meetings))
    event, meeting = meetings[0]
    about = _about(event.title)
    return (about_it if about else bare).format(about=about, people=meeting.attendees)


def _about(title: str) -> str:
    flat = display.one_line(_KIND_WORDS.sub(" ", title))
    about = display.balanced(re.sub(r"\s+", " ", flat).strip(" :-–—|/·,"))
    return about if len(about) <= ABOUT_LIMIT else about[: ABOUT_LIMIT - 1].rstrip() + "…"
