"""How likely two activities of one window are the same piece of work.

A logistic model over seven signals, each computed within the window so nothing depends on a
corpus: TF-IDF cosine over text plus file-name terms, Jaccard over directories, a shared file, the
same title (or one title a prefix of the other), Jaccard over the titles' words, time apart, and
a ticket resolved soon after the work (the dev set's F1 0.782 -> 0.786 at the same threshold, and
fits moved between its projects 0.461 / 0.836 -> 0.482 / 0.850).
The model scores a pair against the window's own average pair: each signal counts by how much it
exceeds its mean over the window's pairs, so the bar adapts to a project's and a person's style
(a project that copies the ticket summary into every commit title, an author whose unrelated
commits all touch one directory). Most pairs of a window are different work, so that mean stands
for "unrelated" in this window's terms. A window of fewer than `MIN_PAIRS` pairs has too few to
average; it is filled up with the average window's pair (`TYPICAL_OFFSET`).
The weights were fitted on the stripped dev set (two projects, 51,687 pairs) with
`benchmarks/cluster_fit.py` and are declared here; the output is a probability, so the grouping
threshold reads as one. Centring each window moved the fits from one project to the other from
F1 0.33 / 0.76 to 0.47 / 0.82 (docs/clustering.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    # annotations only: the learned model (learning.py) reads the weights without loading spaCy
    from harvester.clustering.features import ActivityFeatures

Matrix = npt.NDArray[np.float64]

WEIGHT_TEXT_AND_PATHS = 2.985
WEIGHT_DIRECTORIES = 1.106
WEIGHT_TITLE = 6.076
WEIGHT_TITLE_OVERLAP = 4.835
WEIGHT_CLOSE_IN_TIME = 1.100
WEIGHT_SHARED_FILE = 0.565
WEIGHT_BEFORE_RESOLUTION = 0.949
BIAS = -1.316
# the weighted signals of the average dev window's average pair: what a small window is filled
# up with (fitted with the weights; the same in any unit since the weights sum the signals)
TYPICAL_OFFSET = 2.338
# a window of 4 items has 6 pairs; with fewer, the window's own mean says too little
MIN_PAIRS = 6
# commits on one task come in bursts; the time signal halves for every ~2 hours apart
TIME_SCALE_HOURS = 3.0
# a ticket is resolved after its work: the signal halves for every ~1.4 days in between, and
# tolerates the clocks of two systems disagreeing by a few minutes
RESOLUTION_SCALE_DAYS = 2.0
RESOLUTION_SKEW_DAYS = 0.01
_WORK_KINDS = frozenset({"commit", "pull_request"})
# a one-word title ("cleanup", "javadoc") says too little to tie two items on its own
MIN_TITLE_WORDS = 2
SHORT_TITLE_MATCH = 0.5


def pair_probabilities(
    features: Sequence[ActivityFeatures],
    signals: dict[str, Matrix] | None = None,
    weights: Mapping[str, float] | None = None,
) -> Matrix:
    """An n×n matrix of same-work probabilities (the diagonal is meaningless).

    `weights` are a user's learned coefficients (`learning.UserModel`), keyed as `_WEIGHTS` plus
    "bias"; the declared ones when None.
    """
    signals = signals if signals is not None else pair_signals(features)
    chosen = {**_WEIGHTS, "bias": BIAS, **(weights or {})}
    raw: Matrix = np.asarray(sum(chosen[name] * signals[name] for name in _WEIGHTS), dtype=np.float64)
    z = chosen["bias"] + raw - window_offset(raw)
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def window_offset(raw: Matrix) -> float:
    """The mean of the weighted signals over the window's pairs, filled up to `MIN_PAIRS` pairs
    with `TYPICAL_OFFSET`."""
    n = int(raw.shape[0])
    pairs = n * (n - 1) // 2
    total = float(raw[np.triu_indices(n, 1)].sum())
    if pairs >= MIN_PAIRS:
        return total / pairs
    return (total + (MIN_PAIRS - pairs) * TYPICAL_OFFSET) / MIN_PAIRS


def term_matrix(features: Sequence[ActivityFeatures]) -> Matrix:
    """One row per activity: TF-IDF of its text and file-name terms, unit length (zero where it
    lacks a term)."""
    text_counts, path_counts = _counts([[f.terms for f in features], [f.path_terms for f in features]], {})
    return _tfidf(text_counts + path_counts)


def pair_signals(features: Sequence[ActivityFeatures], terms: Matrix | None = None) -> dict[str, Matrix]:
    """Each signal as an n×n matrix in [0, 1], keyed as in the weights; `terms` is
    `term_matrix(features)` when the caller has it already."""
    both = term_matrix(features) if terms is None else terms
    files = _incidence([f.files for f in features])
    timestamps = np.array([f.activity.occurred_at.timestamp() for f in features])
    hours = np.abs(timestamps[:, None] - timestamps[None, :]) / 3600.0
    shared_file = (files @ files.T > 0).astype(np.float64)
    np.fill_diagonal(shared_file, 0.0)
    return {
        "text_and_paths": np.clip(both @ both.T, 0.0, 1.0),
        "directories": _jaccard(_incidence([f.dirs for f in features])),
        "title": _title_matches([f.title_words for f in features]),
        "title_overlap": _jaccard(_incidence([frozenset(f.title_words) for f in features])),
        "close_in_time": np.exp(-hours / TIME_SCALE_HOURS),
        "shared_file": shared_file,
        "before_resolution": _before_resolution(features, timestamps),
    }


_WEIGHTS = {
    "text_and_paths": WEIGHT_TEXT_AND_PATHS,
    "directories": WEIGHT_DIRECTORIES,
    "title": WEIGHT_TITLE,
    "title_overlap": WEIGHT_TITLE_OVERLAP,
    "close_in_time": WEIGHT_CLOSE_IN_TIME,
    "shared_file": WEIGHT_SHARED_FILE,
    "before_resolution": WEIGHT_BEFORE_RESOLUTION,
}


def _before_resolution(features: Sequence[ActivityFeatures], timestamps: Matrix) -> Matrix:
    """1 for a ticket and work done shortly before it was resolved, fading with the days between.

    A ticket's time is its resolution; the commits and pull requests that did the work come
    before it (dev set: 95% of a ticket's own commits within 0.07-3.6 days before, unrelated
    ones spread evenly either side). Work after the resolution scores nothing.
    """
    is_ticket = np.array([f.activity.kind == "ticket" for f in features])
    is_work = np.array([f.activity.kind in _WORK_KINDS for f in features])
    days = (timestamps[:, None] - timestamps[None, :]) / 86400.0  # row's time minus column's
    fading = np.where(days >= -RESOLUTION_SKEW_DAYS, np.exp(-np.clip(days, 0.0, None) / RESOLUTION_SCALE_DAYS), 0.0)
    ticket_then_work = fading * (is_ticket[:, None] & is_work[None, :])
    return np.asarray(np.maximum(ticket_then_work, ticket_then_work.T), dtype=np.float64)


def shared_terms(features: Sequence[ActivityFeatures], limit: int = 3) -> list[str]:
    """The words most members share, for the "why" line: words of the titles first (they name
    the work; a body adds words like "lost" or "jira"), then the most shared, longer first."""
    if len(features) < 2:
        return []
    counts = Counter(t for f in features for t in set(f.terms))
    title_words = {w for f in features for w in f.title_words}
    shared = [(_in_titles(t, title_words), n, len(t), t) for t, n in counts.items() if n >= max(2, len(features) // 2)]
    return [t for *_, t in sorted(shared, reverse=True)[:limit]]


def _in_titles(term: str, title_words: set[str]) -> bool:
    # terms are lemmas ("retry") and title words are as written ("retries"): compare their stems
    stem = term[:-1] if term.endswith(("y", "e")) and len(term) > 3 else term
    return term in title_words or any(w.startswith(stem) for w in title_words)


def _counts(corpora: Sequence[Sequence[Sequence[str]]], vocabulary: dict[str, int]) -> list[Matrix]:
    """Term counts of each corpus (one row per bag), all with the columns of `vocabulary`."""
    columns = [[vocabulary.setdefault(term, len(vocabulary)) for bag in bags for term in bag] for bags in corpora]
    width = max(1, len(vocabulary))
    result = []
    for bags, found in zip(corpora, columns, strict=True):
        rows = np.repeat(np.arange(len(bags)), [len(bag) for bag in bags])
        flat = np.bincount(rows * width + np.asarray(found, dtype=np.int64), minlength=len(bags) * width)
        result.append(flat.reshape(len(bags), width).astype(np.float64))
    return result


def _tfidf(counts: Matrix) -> Matrix:
    """Row-normalised TF-IDF with sublinear tf; idf from this window only."""
    n = counts.shape[0]
    present = counts > 0
    # a term in every item of the window tells them apart no better than nothing
    idf = np.log((n + 1) / (present.sum(axis=0) + 0.5))
    matrix = np.where(present, 1.0 + np.log(np.maximum(counts, 1.0)), 0.0) * idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(matrix / norms, dtype=np.float64)


def _incidence(sets: Sequence[frozenset[str]]) -> Matrix:
    """One row per set, one column per distinct member, 1 where the member is in the set."""
    [counts] = _counts([[tuple(s) for s in sets]], {})
    return np.asarray(np.minimum(counts, 1.0), dtype=np.float64)


def _jaccard(incidence: Matrix) -> Matrix:
    common = incidence @ incidence.T
    sizes = incidence.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - common
    result: Matrix = np.divide(common, union, out=np.zeros_like(common), where=union > 0)
    np.fill_diagonal(result, 0.0)
    return result


def _title_matches(cores: Sequence[tuple[str, ...]]) -> Matrix:
    """1 when one title's words start the other's: a ticket summary reused as a commit title,
    or "Access Control Management (more tests)" after "Access Control Management"."""
    n = len(cores)
    result = np.zeros((n, n))
    holders: dict[tuple[str, ...], list[int]] = {}
    for i, core in enumerate(cores):
        if core:
            holders.setdefault(core, []).append(i)
    for j, core in enumerate(cores):
        # every title that is a prefix of this one, itself included
        for length in range(1, len(core) + 1):
            for i in holders.get(core[:length], ()):
                if i != j:
                    score = 1.0 if length >= MIN_TITLE_WORDS else SHORT_TITLE_MATCH
                    result[i, j] = result[j, i] = score
    return result
