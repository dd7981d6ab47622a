"""What one user's review decisions teach that user's grouping and ranking: pure, no database.

Grouping. The similarity model (`similarity.py`) is a logistic model over window-centred signals.
Each user starts from the declared coefficients; the pairs a decision confirms (a merge: the
target's items with the merged ones; an approval: the candidate's pairs) or separates (a split:
the item with the rest; an approval: its items with those of the week's candidates approved
before it) are labelled examples of the same logistic loss, and one decision is a few Newton
steps on its own pairs with a pull toward the current coefficients. Without an approval's
negatives the examples are only the clustering's mistakes, mostly missed pairs, and learning
drifts toward grouping everything (benchmarks/learning.py --no-approvals: F1 0.789 -> 0.774).
Two bounds keep one click from swinging it: a decision moves no coefficient by more than
`STEP_BOUND`, and no coefficient ever leaves `WEIGHT_BOUND` around its declared value (nor goes
below zero: every signal is evidence for "same work", never against it).

Ranking. The significance score (`significance.py`) is declared points. A decision on a candidate
(approve or reject) nudges a learned adjustment per reason key the candidate has (its kinds, Jira
type and priority, labels, meeting kind, repository, measured, confirmed by several sources) by
at most `RANK_STEP` points, toward what the user did; each key stays within `RANK_BOUND` points and
a candidate's total adjustment within `RANK_TOTAL_BOUND`, so the declared signals still lead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from harvester.clustering import similarity
from harvester.clustering.meetings import classify
from harvester.clustering.significance import LABEL_WORDS
from harvester.records import Activity

Matrix = similarity.Matrix

BIAS_KEY = "bias"
# in logit units per unit of centred signal (the declared coefficients are 0.4 to 6.1). Replaying
# the dev set (benchmarks/learning.py), these bounds took each user's next weeks from F1 0.789 to
# 0.804 with the declared weights, and from 0.454 to 0.622 / 0.857 to 0.921 with weights fitted on
# the other project (wider bounds gained more there and lost precision with the declared weights)
STEP_BOUND = 0.1
# around the declared value: enough to double a small coefficient or shift the bias by one unit,
# not enough to turn off the title match or make timing alone group things
WEIGHT_BOUND = 1.0
# a decision's Newton steps, each pulled toward the coefficients before it (a proximal step: the
# few pairs of one click cannot be fitted exactly, and should not be)
NEWTON_STEPS = 3
PROXIMAL = 5.0
# points of the significance score (a PR is worth 1.0, an incident type 1.5)
RANK_STEP = 0.25
RANK_RATE = 0.5
RANK_BOUND = 1.0
RANK_TOTAL_BOUND = 1.5
# the learned adjustment a reason line ("like ones you approved") needs before it is shown
RANK_REASON_MIN = 0.25
LEARNED_REASON = "like ones you approved"


@dataclass(frozen=True, slots=True)
class Decision:
    """One review action's pairs of one week's activities: the same piece of work or not."""

    week: str
    pairs: tuple[tuple[str, str, bool], ...]

    def to_json(self) -> dict[str, Any]:
        return {"week": self.week, "pairs": [list(pair) for pair in self.pairs]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        return cls(str(data["week"]), tuple((str(a), str(b), bool(same)) for a, b, same in data["pairs"]))


@dataclass(frozen=True)
class UserModel:
    """One user's learned coefficients, ranking adjustments and the decisions not yet learned from.

    The coefficients are kept as `offsets` from the declared ones, so a refit of the declared
    weights keeps what each user taught, inside the same bounds. Decisions wait in `pending`
    because learning from their pairs needs the week's features (spaCy), which the next clustering
    computes anyway; the ranking adjustments are learned at once. `version` is the stored row's
    (0: nothing stored yet).
    """

    offsets: Mapping[str, float] = field(default_factory=dict)
    ranking: Mapping[str, float] = field(default_factory=dict)
    pending: tuple[Decision, ...] = ()
    decisions: int = 0
    version: int = 0

    @property
    def weights(self) -> dict[str, float]:
        """The coefficients in the form `similarity.pair_probabilities(weights=...)` takes."""
        declared = declared_weights()
        return _bounded(declared, {name: value + self.offsets.get(name, 0.0) for name, value in declared.items()})

    def with_weights(self, weights: Mapping[str, float]) -> UserModel:
        declared = declared_weights()
        return replace(self, offsets={name: weights[name] - value for name, value in declared.items()})


# the pairs one decision may teach: a merge of two large candidates is still one click
MAX_PAIRS_PER_DECISION = 200
# decisions kept for the next clustering; a user who reviews for months without a harvest keeps the latest
MAX_PENDING = 200


def declared_weights() -> dict[str, float]:
    """The declared coefficients of the similarity model, bias included."""
    return {**similarity._WEIGHTS, BIAS_KEY: similarity.BIAS}


def _names() -> list[str]:
    return [*similarity._WEIGHTS, BIAS_KEY]


def pair_design(
    signals: Mapping[str, Matrix], pairs: Sequence[tuple[int, int]]
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], float]:
    """The rows the logistic model scores for `pairs` of one window, and the window's constant.

    A pair's logit is `row @ weights - shift`: each signal minus its mean over the window's pairs
    (as `similarity.window_offset` centres them), a 1 for the bias; `shift` is what a small window
    is filled up with (`TYPICAL_OFFSET`), which does not move with the weights.
    """
    n = int(next(iter(signals.values())).shape[0])
    upper = np.triu_indices(n, 1)
    count = len(upper[0])
    denominator = max(count, similarity.MIN_PAIRS)
    rows, columns = np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)
    design = [signals[name][rows, columns] - signals[name][upper].sum() / denominator for name in similarity._WEIGHTS]
    design.append(np.ones(len(pairs)))
    shift = max(similarity.MIN_PAIRS - count, 0) * similarity.TYPICAL_OFFSET / similarity.MIN_PAIRS
    return np.stack(design, axis=1), shift


def update_weights(
    weights: Mapping[str, float],
    design: np.ndarray[Any, np.dtype[np.float64]],
    same: Sequence[bool],
    shift: float | Sequence[float] = 0.0,
) -> dict[str, float]:
    """The coefficients after one decision's labelled pairs (`design` rows from `pair_design`).

    Each pair counts 1/len: a merge of two large candidates is one decision, like a split.
    """
    names = _names()
    before = np.array([weights.get(name, declared_weights()[name]) for name in names])
    if len(same) == 0:
        return dict(zip(names, before.tolist(), strict=True))
    y = np.asarray(same, dtype=np.float64)
    offsets = np.broadcast_to(np.asarray(shift, dtype=np.float64), y.shape)
    current = before.copy()
    identity = np.eye(len(names))
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ current - offsets)))
        gradient = design.T @ (p - y) / len(y) + PROXIMAL * (current - before)
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design / len(y) + PROXIMAL * identity
        current = current - np.linalg.solve(hessian, gradient)
    moved = before + np.clip(current - before, -STEP_BOUND, STEP_BOUND)
    return _bounded(declared_weights(), dict(zip(names, moved.tolist(), strict=True)))


def _bounded(declared: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    """Each coefficient within `WEIGHT_BOUND` of its declared value; signals are evidence for
    "same work", so only the bias may go below zero."""
    result = {}
    for name, value in declared.items():
        inside = min(max(weights[name], value - WEIGHT_BOUND), value + WEIGHT_BOUND)
        result[name] = inside if name == BIAS_KEY else max(inside, 0.0)
    return result


def learn_pairs(
    weights: Mapping[str, float], signals: Mapping[str, Matrix], pairs: Sequence[tuple[int, int, bool]]
) -> dict[str, float]:
    """One decision's pairs of one window (indices into the window's `signals`), learned from."""
    design, shift = pair_design(signals, [(a, b) for a, b, _ in pairs])
    return update_weights(weights, design, [same for *_, same in pairs], shift)


def settle(model: UserModel, windows: Mapping[str, tuple[Sequence[Activity], Mapping[str, Matrix]]]) -> UserModel:
    """Learn from the pending decisions whose week is in `windows` (its activities and their
    `similarity.pair_signals`); the others stay pending.

    Only pairs similarity decides are learned from: a meeting joins work by its title's words
    and reviews are gathered by kind (cluster.py), so pairs with a meeting, or of two reviews, teach
    the coefficients nothing. Pairs of items no longer in their week are dropped.
    """
    weights = model.weights
    waiting = []
    for decision in model.pending:
        if decision.week not in windows:
            waiting.append(decision)
            continue
        activities, signals = windows[decision.week]
        index = {a.id: i for i, a in enumerate(activities)}
        pairs = [
            (index[a], index[b], same)
            for a, b, same in decision.pairs
            if a in index and b in index and a != b and similarity_decides(activities[index[a]], activities[index[b]])
        ]
        if pairs:
            weights = learn_pairs(weights, signals, pairs)
    return replace(model.with_weights(weights), pending=tuple(waiting))


def similarity_decides(a: Activity, b: Activity) -> bool:
    """Whether the coefficients decide if these two are grouped (not a meeting, not two reviews)."""
    return "event" not in (a.kind, b.kind) and not (a.kind == b.kind == "review")


def ranking_keys(activities: Sequence[Activity], *, measured: bool = False) -> frozenset[str]:
    """What a user may like or not about a candidate: the keys its learned adjustment sums over."""
    keys = {f"kind:{a.kind}" for a in activities}
    keys |= {f"repo:{a.repo}" for a in activities if a.repo}
    for activity in activities:
        if activity.kind == "ticket":
            for field_name in ("issue_type", "priority"):
                value = str(activity.extra.get(field_name) or "").lower()
                if value:
                    keys.add(f"{field_name}:{value}")
        if activity.kind == "event":
            keys.add(f"meeting:{classify(activity).kind}")
        for label in activity.labels:
            keys |= {f"label:{meaning}" for word, meaning in LABEL_WORDS.items() if word in label.lower()}
    if measured:
        keys.add("measured")
    if len({a.kind for a in activities}) > 1:
        keys.add("confirmed")
    return frozenset(keys)


def ranking_adjustment(ranking: Mapping[str, float], keys: frozenset[str]) -> float:
    """Points added to a candidate's significance score for this user."""
    total = sum(ranking.get(key, 0.0) for key in keys)
    return float(np.clip(total, -RANK_TOTAL_BOUND, RANK_TOTAL_BOUND))


def update_ranking(ranking: Mapping[str, float], keys: frozenset[str], *, approved: bool) -> dict[str, float]:
    """The adjustments after the user approved (or rejected) a candidate with these keys.

    An online logistic step on "approved" over the candidate's keys: a decision the adjustments
    already predict moves them little; each key moves at most `RANK_STEP`, and stays in bounds.
    """
    predicted = 1.0 / (1.0 + np.exp(-ranking_adjustment(ranking, keys)))
    step = float(np.clip(RANK_RATE * (float(approved) - predicted), -RANK_STEP, RANK_STEP))
    result = dict(ranking)
    for key in keys:
        result[key] = float(np.clip(result.get(key, 0.0) + step, -RANK_BOUND, RANK_BOUND))
    return result


def ranking_keys_of_json(activities: Sequence[Activity], metrics: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """`ranking_keys` of a stored candidate, whose metrics are kept as their JSON."""
    return ranking_keys(activities, measured=any(m.get("text") for m in metrics))


__all__ = [
    "RANK_BOUND",
    "RANK_STEP",
    "RANK_TOTAL_BOUND",
    "STEP_BOUND",
    "WEIGHT_BOUND",
    "Decision",
    "UserModel",
    "declared_weights",
    "learn_pairs",
    "pair_design",
    "ranking_adjustment",
    "ranking_keys",
    "settle",
    "similarity_decides",
    "update_ranking",
    "update_weights",
]
