"""A large window takes the sparse path and groups as the dense path would."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from conftest import act
from spacy.language import Language

from harvester.clustering import Constraints, ExistingCandidate, cluster, extract_features
from harvester.clustering.grouping import Apart, agglomerate, agglomerate_sparse
from harvester.clustering.similarity import _WEIGHTS, BIAS, pair_probabilities, pair_signals, window_offset
from harvester.clustering.sparse import _stable_order, pair_graph
from harvester.records import Activity

COMPONENTS = ["invoice", "webhook", "ledger", "refund", "checkout", "payout", "login", "search", "upload",
              "report", "billing", "export", "session", "cache", "router"]  # fmt: skip
CHANGES = ["retry", "timeout", "rounding", "pagination"]


def topic_window(topics: int) -> list[Activity]:
    """Eight commits a topic, a topic a day; every other topic also has its ticket, which its
    commits name, so explicit links and the kept-apart rules take part."""
    items = []
    for number, (component, change) in enumerate(itertools.islice(itertools.product(COMPONENTS, CHANGES), topics)):
        day = 24.0 * number
        key = f"PAY-{number + 1}" if number % 2 else ""
        for step in range(8):
            title = f"{key} {change.capitalize()} {component} handling, part {step}".strip()
            items.append(
                act(f"c{number}-{step}", "commit", title, hours=day + step * 0.5, repo="octo/api",
                    paths=(f"api/{component}/{change}_{step % 3}.py", f"api/{component}/models.py"),
                    body=f"The {component} {change} code path now covers case {step}.")
            )  # fmt: skip
        if key:
            items.append(
                act(f"jira:{key}", "ticket", f"{component.capitalize()} {change}", hours=day + 5,
                    url=f"https://acme.atlassian.net/browse/{key}", labels=("Story",))
            )  # fmt: skip
    return items


def groups(candidates: list[cluster.Candidate]) -> set[frozenset[str]]:
    return {frozenset(c.activity_ids) for c in candidates}


@pytest.fixture(scope="module")
def large_window(blank_nlp: Language) -> list[Activity]:
    window = topic_window(42)
    assert len(window) > cluster.SPARSE_ABOVE
    return window


def dense_and_sparse(
    monkeypatch: pytest.MonkeyPatch, window: list[Activity], nlp: Language, **options: object
) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    sparse_groups = groups(cluster.cluster_week(window, nlp, **options))  # type: ignore[arg-type]
    monkeypatch.setattr(cluster, "SPARSE_ABOVE", 10**9)
    dense_groups = groups(cluster.cluster_week(window, nlp, **options))  # type: ignore[arg-type]
    return dense_groups, sparse_groups


def test_a_large_window_groups_as_the_dense_path_does(
    monkeypatch: pytest.MonkeyPatch, large_window: list[Activity], blank_nlp: Language
) -> None:
    dense, found = dense_and_sparse(monkeypatch, large_window, blank_nlp)
    assert found == dense
    assert 1 < len(found) < len(large_window) / 4


def test_constraints_hold_on_the_sparse_path(
    monkeypatch: pytest.MonkeyPatch, large_window: list[Activity], blank_nlp: Language
) -> None:
    locked = ExistingCandidate("c-locked", ("c0-0", "c0-1"), "approved")
    constraints = Constraints(must_link=(("c2-0", "c4-0"),), cannot_link=(("c6-0", "c6-1"),))
    dense, found = dense_and_sparse(monkeypatch, large_window, blank_nlp, existing=[locked], constraints=constraints)
    assert found == dense
    assert frozenset({"c0-0", "c0-1"}) in found
    assert any({"c2-0", "c4-0"} <= group for group in found)
    assert not any({"c6-0", "c6-1"} <= group for group in found)


def test_listed_pairs_score_as_in_the_dense_model(large_window: list[Activity], blank_nlp: Language) -> None:
    # "handling" and "part" are in every title: too common to list their pairs, so the window's
    # mean counts them from a sample, and the figures agree closely rather than exactly
    features = extract_features(blank_nlp, large_window[:320])
    signals = pair_signals(features)
    dense = pair_probabilities(features, signals)
    offset = window_offset(np.asarray(sum(w * signals[name] for name, w in _WEIGHTS.items())))
    graph = pair_graph(features)
    assert graph.baseline == pytest.approx(1.0 / (1.0 + np.exp(-(BIAS - offset))), rel=0.01)
    assert graph.probability == pytest.approx(dense[graph.first, graph.second], rel=0.01)
    unlisted = np.ones_like(dense, dtype=bool)
    unlisted[graph.first, graph.second] = unlisted[graph.second, graph.first] = False
    np.fill_diagonal(unlisted, False)
    # a pair left out shares only too-common words: never enough to join two items on its own
    assert dense[unlisted].max() < cluster.GROUPING_THRESHOLD


def test_a_users_learned_weights_score_the_sparse_pairs_as_the_dense_ones(
    large_window: list[Activity], blank_nlp: Language
) -> None:
    # what review taught a user (learning.UserModel.weights) counts the same on either path
    features = extract_features(blank_nlp, large_window[:320])
    learned = {**_WEIGHTS, "title": _WEIGHTS["title"] - 1.0, "bias": BIAS + 0.5}
    dense = pair_probabilities(features, pair_signals(features), learned)
    graph = pair_graph(features, learned)
    assert graph.probability == pytest.approx(dense[graph.first, graph.second], rel=0.01)
    assert graph.probability != pytest.approx(pair_graph(features).probability, rel=0.01)


@pytest.mark.parametrize("seed", range(5))
def test_graph_agglomeration_merges_as_the_matrix_one(seed: int) -> None:
    rng = random.Random(seed)
    size, baseline = 80, 0.1
    similarity = np.full((size, size), baseline)
    first, second, probability = [], [], []
    for a, b in itertools.combinations(range(size), 2):
        if rng.random() < 0.08:
            value = rng.uniform(baseline, 0.9)
            similarity[a, b] = similarity[b, a] = value
            first.append(a), second.append(b), probability.append(value)
    linked = [[i] for i in range(size - 4)] + [[size - 4, size - 3], [size - 2, size - 1]]
    fixed = [g % 17 == 5 for g in range(len(linked))]
    cannot = [(rng.randrange(size), rng.randrange(size)) for _ in range(6)]
    group_of = {i: g for g, items in enumerate(linked) for i in items}
    partners: dict[int, set[int]] = {}
    for a, b in cannot:
        partners.setdefault(group_of[a], set()).add(group_of[b])
        partners.setdefault(group_of[b], set()).add(group_of[a])
    apart = Apart(
        tickets=[frozenset()] * len(linked),
        only_reviews=[False] * len(linked),
        terms=[frozenset({"x"})] * len(linked),
        fileless=[False] * len(linked),
        partners={g: frozenset(p) for g, p in partners.items()},
    )
    expected = agglomerate(similarity, linked, 0.25, fixed=fixed, cannot_link=cannot)
    found = agglomerate_sparse(
        np.array(first), np.array(second), np.array(probability), baseline, linked, 0.25, fixed=fixed, apart=apart
    )
    assert found == expected
    assert len(found) < len(linked)


@pytest.mark.parametrize("largest", [1, 50, 70_000, 2**31 - 1])
def test_pair_ends_are_ordered_as_a_stable_argsort_would(largest: int) -> None:
    # _nearest ranks each item's pairs by this order; ties must keep the probability order
    items = np.random.default_rng(7).integers(0, largest, 50_000).astype(np.int32)
    order = _stable_order(items)
    assert order.dtype == np.int32
    assert np.array_equal(order, np.argsort(items, kind="stable"))
