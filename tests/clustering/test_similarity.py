"""The similarity model scores a pair against its own window's average pair."""

from __future__ import annotations

import numpy as np
from conftest import act
from spacy.language import Language

from harvester.clustering import cluster_week, extract_features, similarity


def _signals(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    result = {}
    for name in similarity._WEIGHTS:
        upper = np.triu(rng.random((n, n)), 1)
        result[name] = upper + upper.T
    return result


def test_a_window_wide_rise_in_a_signal_changes_no_probability() -> None:
    # an author whose every commit touches one directory, or a project that words every commit
    # alike: what is common to all pairs of the window tells none of them apart
    signals = _signals(6, seed=1)
    shifted = dict(signals, directories=signals["directories"] + 0.4, close_in_time=signals["close_in_time"] + 0.2)
    features = [None] * 6
    before = similarity.pair_probabilities(features, signals)  # type: ignore[arg-type]
    after = similarity.pair_probabilities(features, shifted)  # type: ignore[arg-type]
    upper = np.triu_indices(6, 1)
    assert np.allclose(before[upper], after[upper])


def test_a_small_window_is_filled_up_with_the_typical_pair() -> None:
    raw = np.array([[0.0, 5.0], [5.0, 0.0]])
    pairs = similarity.MIN_PAIRS
    assert similarity.window_offset(raw) == (5.0 + (pairs - 1) * similarity.TYPICAL_OFFSET) / pairs
    big = np.ones((5, 5))  # 10 pairs: the window's own mean
    assert similarity.window_offset(big) == 1.0


def test_the_pair_that_stands_out_in_its_window_is_grouped(nlp: Language) -> None:
    # every commit of this week is in one directory within a few hours; only the two on the
    # parser share their words and file
    week = [
        act("c:1", "commit", "Rebuild the trailer when the xref table is broken", hours=0,
            paths=("core/pdf/Parser.java",)),
        act("c:2", "commit", "Detect the encryption dictionary while rebuilding the trailer", hours=1,
            paths=("core/pdf/Parser.java",)),
        act("c:3", "commit", "Update the copyright year in headers", hours=2, paths=("core/pdf/Header.java",)),
        act("c:4", "commit", "Log a warning for missing fonts", hours=3, paths=("core/pdf/Fonts.java",)),
        act("c:5", "commit", "Remove an unused import", hours=4, paths=("core/pdf/Writer.java",)),
    ]  # fmt: skip
    groups = {frozenset(c.activity_ids) for c in cluster_week(week, nlp)}
    assert frozenset({"c:1", "c:2"}) in groups
    assert all(len(g) <= 2 for g in groups)
    features = extract_features(nlp, week)
    assert similarity.pair_probabilities(features)[0, 1] > 0.5


def test_a_ticket_resolved_soon_after_the_work_is_likelier_its_own(nlp: Language) -> None:
    # a ticket's time is its resolution: the commit a day before it is probably its work, the
    # same commit a day after it is not, and two commits get nothing from this signal
    week = [
        act("t:1", "ticket", "Importer drops rows with a trailing comma", hours=24),
        act("c:before", "commit", "Handle trailing separators in the importer", hours=0),
        act("c:after", "commit", "Handle trailing separators in the importer", hours=48),
    ]
    signal = similarity.pair_signals(extract_features(nlp, week))["before_resolution"]
    assert signal[0, 1] == signal[1, 0] > 0.5
    assert signal[0, 2] == 0.0
    assert signal[1, 2] == 0.0
    probabilities = similarity.pair_probabilities(extract_features(nlp, week))
    assert probabilities[0, 1] > probabilities[0, 2]
