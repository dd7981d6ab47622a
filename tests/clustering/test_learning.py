"""What a user's decisions teach their grouping weights and ranking, and the bounds that hold it."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering import cluster_week, extract_features, learning, similarity
from harvester.clustering.similarity import pair_probabilities, pair_signals
from harvester.digest.ranking import stored_significance
from harvester.records import Activity


def week(start: float, first: str, second: str, tag: str) -> list[Activity]:
    """Two commits of one piece of work an hour or two apart in neighbouring directories (items 0
    and 1), among unrelated work of the same week."""
    return [
        act(f"{tag}:a", "commit", first, hours=start, paths=("billing/rates/cache.py",)),
        act(f"{tag}:b", "commit", second, hours=start + 1.5, paths=("billing/invoices/pdf.py",)),
        act(f"{tag}:c", "commit", "Upgrade the linter", hours=start + 20, paths=("tools/lint.cfg",)),
        act(f"{tag}:d", "commit", "Document the deploy steps", hours=start + 50, paths=("docs/deploy.md",)),
        act(f"{tag}:e", "commit", "Fix flaky login test", hours=start + 70, paths=("auth/tests/test_login.py",)),
        act(f"{tag}:f", "commit", "Add dark mode toggle", hours=start + 90, paths=("web/settings/theme.ts",)),
    ]


THIS_WEEK = week(0, "Cache exchange rates", "Render invoice totals", "w1")
NEXT_WEEK = week(200, "Store currency quotes", "Print receipt footers", "w2")


def signals_of(nlp: Language, activities: list[Activity]) -> dict[str, np.ndarray]:
    return pair_signals(extract_features(nlp, activities))


def moved(before: dict[str, float], after: dict[str, float]) -> float:
    return max(abs(after[name] - before[name]) for name in before)


def test_one_decision_moves_no_coefficient_by_more_than_the_step_bound(blank_nlp: Language) -> None:
    signals = signals_of(blank_nlp, THIS_WEEK)
    declared = learning.declared_weights()
    # the most forceful click there is: every pair of the week said to be one piece of work
    everything = [(i, j, True) for i in range(6) for j in range(i + 1, 6)]
    after = learning.learn_pairs(declared, signals, everything)
    assert 0 < moved(declared, after) <= learning.STEP_BOUND + 1e-12


def test_contradictory_clicks_never_leave_the_bound_around_the_declared_weights(blank_nlp: Language) -> None:
    signals = signals_of(blank_nlp, THIS_WEEK)
    declared = learning.declared_weights()
    weights = dict(declared)
    chooser = random.Random(7)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    farthest = 0.0
    for click in range(300):
        # the same pairs merged, then split, then merged again, in runs long enough to hit the bound
        same = (click // 40) % 2 == 0
        before = weights
        weights = learning.learn_pairs(weights, signals, [(*pair, same) for pair in chooser.sample(pairs, 3)])
        assert moved(before, weights) <= learning.STEP_BOUND + 1e-12
        for name, value in weights.items():
            assert abs(value - declared[name]) <= learning.WEIGHT_BOUND + 1e-12
            assert name == learning.BIAS_KEY or value >= 0
        farthest = max(farthest, moved(declared, weights))
    # the runs were long enough to reach the bound, and it held
    assert farthest == pytest.approx(learning.WEIGHT_BOUND)


def test_a_merge_makes_the_same_kind_of_pair_more_likely_the_next_week(blank_nlp: Language) -> None:
    merged = learning.learn_pairs(learning.declared_weights(), signals_of(blank_nlp, THIS_WEEK), [(0, 1, True)])
    features = extract_features(blank_nlp, NEXT_WEEK)
    before = pair_probabilities(features)[0, 1]
    after = pair_probabilities(features, weights=merged)[0, 1]
    assert after > before


def test_a_split_makes_the_same_kind_of_pair_less_likely_the_next_week(blank_nlp: Language) -> None:
    split = learning.learn_pairs(learning.declared_weights(), signals_of(blank_nlp, THIS_WEEK), [(0, 1, False)])
    features = extract_features(blank_nlp, NEXT_WEEK)
    assert pair_probabilities(features, weights=split)[0, 1] < pair_probabilities(features)[0, 1]


def test_splits_week_after_week_keep_that_kind_of_pair_apart(blank_nlp: Language) -> None:
    declared_groups = {frozenset(c.activity_ids) for c in cluster_week(NEXT_WEEK, blank_nlp)}
    assert frozenset({"w2:a", "w2:b"}) in declared_groups
    model = learning.UserModel()
    for number in range(12):
        decision = learning.Decision(f"2026-W{number:02}", (("w1:a", "w1:b", False),))
        model = learning.settle(
            learning.UserModel(offsets=model.offsets, pending=(decision,)),
            {decision.week: (THIS_WEEK, signals_of(blank_nlp, THIS_WEEK))},
        )
    learned_groups = {frozenset(c.activity_ids) for c in cluster_week(NEXT_WEEK, blank_nlp, weights=model.weights)}
    assert frozenset({"w2:a", "w2:b"}) not in learned_groups


def test_the_declared_weights_cluster_exactly_as_without_a_model(blank_nlp: Language) -> None:
    plain = cluster_week(NEXT_WEEK, blank_nlp)
    assert cluster_week(NEXT_WEEK, blank_nlp, weights=learning.UserModel().weights) == plain


def test_settling_learns_only_pairs_similarity_decides_and_keeps_other_weeks_waiting(blank_nlp: Language) -> None:
    meeting = act("w1:m", "event", "Exchange rates sync", hours=1)
    activities = [*THIS_WEEK, meeting]
    waiting = learning.Decision("2026-W47", (("x", "y", True),))
    about_meeting = learning.Decision("2026-W46", (("w1:a", "w1:m", True),))
    model = learning.UserModel(pending=(about_meeting, waiting))
    settled = learning.settle(model, {"2026-W46": (activities, signals_of(blank_nlp, activities))})
    # a meeting joins work by its title's words, never by these coefficients
    assert settled.weights == model.weights
    assert settled.pending == (waiting,)


def test_decisions_survive_their_json() -> None:
    decision = learning.Decision("2026-W46", (("github:acme/shop#1", "jira:PAY-1", True), ("a", "b", False)))
    assert learning.Decision.from_json(decision.to_json()) == decision


def test_a_ranking_decision_moves_each_key_by_at_most_its_step_and_stays_bounded() -> None:
    keys = frozenset({"kind:review", "repo:acme/shop"})
    ranking: dict[str, float] = {}
    for _ in range(100):
        before = dict(ranking)
        ranking = learning.update_ranking(ranking, keys, approved=False)
        assert all(abs(ranking[k] - before.get(k, 0.0)) <= learning.RANK_STEP for k in keys)
    assert all(value >= -learning.RANK_BOUND for value in ranking.values())
    assert ranking["kind:review"] == pytest.approx(-learning.RANK_BOUND)
    many = frozenset(f"label:{n}" for n in range(10))
    assert learning.ranking_adjustment(dict.fromkeys(many, 1.0), many) == learning.RANK_TOTAL_BOUND


def test_ranking_keys_say_what_a_user_may_like_about_a_candidate() -> None:
    ticket = act("jira:PAY-1", "ticket", "Refunds", extra={"issue_type": "Bug", "priority": "High"}, labels=("sev1",))
    review = act("gh:r1", "review", "Reviewed refunds", repo="acme/shop")
    assert learning.ranking_keys([ticket, review], measured=True) == {
        "kind:ticket",
        "kind:review",
        "repo:acme/shop",
        "issue_type:bug",
        "priority:high",
        "label:incident",
        "measured",
        "confirmed",
    }


def test_a_refit_of_the_declared_weights_keeps_what_the_user_taught(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = learning.declared_weights()
    model = learning.UserModel().with_weights({**declared, "title": declared["title"] + 0.5})
    monkeypatch.setitem(similarity._WEIGHTS, "title", 5.0)
    assert model.weights["title"] == pytest.approx(5.5)


def test_a_learned_lift_raises_the_score_and_says_why() -> None:
    pr = act("gh:1", "pull_request", "Speed up checkout", repo="acme/shop")
    plain = stored_significance([pr], [])
    lifted = stored_significance([pr], [], {"repo:acme/shop": 0.5})
    assert lifted.score == pytest.approx(plain.score + 0.5)
    assert learning.LEARNED_REASON in lifted.reasons and learning.LEARNED_REASON not in plain.reasons
    lowered = stored_significance([pr], [], {"kind:pull_request": -0.5})
    assert lowered.score == pytest.approx(plain.score - 0.5) and lowered.reasons == plain.reasons
