"""What is not an accomplishment: the week's stand-alone routine meetings, set aside with a rule.

A 1:1, a stand-up, a private event, a focus block or a meeting about no work of the week is
never a candidate of its own. Clustering still groups it (a "CI migration sync" joins the CI
work it is about); what is left on its own is set aside here, stays in the store, is counted in
the digest ("and 9 routine meetings") and is listed with its rule by `brag candidates --format
json`, and the user can still make a candidate of it on the review page. Pure: no spaCy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harvester.clustering.meetings import MeetingKind, classify
from harvester.clustering.model import Candidate
from harvester.records import Activity

# (rule, why) for each kind of meeting that is set aside when it stands alone
RULES: dict[MeetingKind, tuple[str, str]] = {
    "one_on_one": ("one_on_one", "a 1:1 is counted, never a candidate of its own"),
    "private": ("private", "a private event is counted, never titled"),
    "solo": ("solo", "nobody else attends it: a block in your own calendar"),
    "ritual": ("ritual", "a recurring team ritual (stand-up, planning, retro, sync)"),
    "focus": ("focus", "a focus, prep or lunch block"),
    "other": ("unrelated_meeting", "a meeting about none of this week's work, and not one to name on its own"),
}


@dataclass(frozen=True, slots=True)
class SetAside:
    """An activity left out of every candidate, and the rule that left it out."""

    activity_id: str
    rule: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"activity_id": self.activity_id, "rule": self.rule, "why": self.why}


def set_aside_rule(activity: Activity) -> SetAside | None:
    """The rule that keeps this activity from being a candidate on its own, or None."""
    if activity.kind != "event":
        return None
    found = RULES.get(classify(activity).kind)
    return SetAside(activity.id, *found) if found is not None else None


def left_out(activities: Iterable[Activity]) -> list[tuple[Activity, SetAside]]:
    """The activities a set-aside rule applies to, each with its rule: of the items no candidate
    holds (`repository.ungrouped_activities`), the ones clustering left out."""
    return [(activity, rule) for activity in activities if (rule := set_aside_rule(activity)) is not None]


def set_aside(
    candidates: Sequence[Candidate], activities: Mapping[str, Activity]
) -> tuple[list[Candidate], list[SetAside]]:
    """The candidates worth keeping, and the items of the others with their rules.

    Only pending candidates made entirely of such meetings are set aside: a candidate the user
    reviewed, edited or made by hand stays, whatever it holds.
    """
    kept: list[Candidate] = []
    aside: list[SetAside] = []
    for candidate in candidates:
        members = [activities[i] for i in candidate.activity_ids if i in activities]
        rules = [set_aside_rule(a) for a in members]
        if candidate.state != "pending" or not members or any(rule is None for rule in rules):
            kept.append(candidate)
            continue
        aside.extend(rule for rule in rules if rule is not None)
    return kept, aside


__all__ = ["RULES", "SetAside", "left_out", "set_aside", "set_aside_rule"]
