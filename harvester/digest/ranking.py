"""One order for a week's candidates, shared by the email, the review page and `brag candidates`.

Work first, best first (the significance score, plus what the user's approvals and rejections
taught: `clustering/learning.py`); candidates made only of meetings after it, since the email
rolls them up instead of listing them. Ties keep the order the store gives (oldest first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harvester.clustering.meetings import classify
from harvester.clustering.model import Metric
from harvester.clustering.significance import Significance, significance
from harvester.records import Activity


def meetings_only(activities: Sequence[Activity]) -> bool:
    """A candidate made only of calendar events: rolled up in the email, never listed as an item."""
    return bool(activities) and all(a.kind == "event" for a in activities)


def routine_only(activities: Sequence[Activity]) -> bool:
    """Only 1:1s, private events, solo blocks, rituals: counted, never titled."""
    return meetings_only(activities) and all(classify(a).routine for a in activities)


def stored_significance(
    activities: Sequence[Activity], metrics: Sequence[Mapping[str, Any]], learned: Mapping[str, float] | None = None
) -> Significance:
    """The significance of a stored candidate, whose metrics are kept as their JSON.

    `learned` is the user's ranking adjustments (`learning.UserModel.ranking`): their bounded
    points for this candidate's keys are added to the score, and a clear lift is said as a reason.
    """
    found = significance(activities, [_metric(m) for m in metrics if m.get("text")])
    if not learned:
        return found
    # numpy comes with the learner: `brag schedule` imports this module and should not load it
    from harvester.clustering import learning

    adjustment = learning.ranking_adjustment(learned, learning.ranking_keys_of_json(activities, metrics))
    lifted = (learning.LEARNED_REASON,) if adjustment >= learning.RANK_REASON_MIN else ()
    return Significance(round(found.score + adjustment, 2), found.reasons + lifted)


def rank_key(
    week: str,
    activities: Sequence[Activity],
    metrics: Sequence[Mapping[str, Any]],
    learned: Mapping[str, float] | None = None,
    *,
    score: float | None = None,
) -> tuple[str, bool, float]:
    """Sort key: week, then work before meeting-only candidates, then the higher score first
    (with the user's `learned` adjustments, when given). `score`: the candidate's significance
    when the caller has it already, so the email, the page and `brag candidates` share one order
    without scoring twice."""
    if score is None:
        score = stored_significance(activities, metrics, learned).score
    return (week, meetings_only(activities), -score)


def _metric(stored: Mapping[str, Any]) -> Metric:
    # only the count and the first text reach the score; the rest is kept as stored when present
    value = stored.get("value")
    return Metric(
        kind=stored.get("kind", "percent"),
        text=str(stored.get("text", "")),
        activity_id=str(stored.get("activity_id", "")),
        field="body" if stored.get("field") == "body" else "title",
        start=int(stored.get("start") or 0),
        end=int(stored.get("end") or 0),
        unit=str(stored.get("unit", "")),
        value=float(value) if isinstance(value, int | float) else None,
    )
