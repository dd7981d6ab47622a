"""How likely two activities of one window are the same piece of work.

A logistic model over six signals, each computed within the window so nothing depends on a corpus:
TF-IDF cosine over text terms, TF-IDF cosine over text plus file-name terms, Jaccard over
directories, a shared file, the same title (or one title a prefix of the other), and time apart.
The weights were fitted once on the stripped dev set (two projects, 51,687 pairs) and are declared
here; the output is a probability, so the grouping threshold reads as one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from harvester.clustering.features import ActivityFeatures, title_key

Matrix = npt.NDArray[np.float64]

WEIGHT_TEXT = 3.2
WEIGHT_TEXT_AND_PATHS = 1.97
WEIGHT_DIRECTORIES = 1.49
WEIGHT_TITLE = 5.43
WEIGHT_CLOSE_IN_TIME = 1.25
WEIGHT_SHARED_FILE = 0.53
BIAS = -2.58
# commits on one task come in bursts; the time signal halves for every ~2 hours apart
TIME_SCALE_HOURS = 3.0
# a one-word title ("cleanup", "javadoc") says too little to tie two items on its own
MIN_TITLE_WORDS = 2
SHORT_TITLE_MATCH = 0.5

_TRAILING_NOTE = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*$")


def pair_probabilities(features: Sequence[ActivityFeatures], signals: dict[str, Matrix] | None = None) -> Matrix:
    """An n×n matrix of same-work probabilities (the diagonal is meaningless)."""
    signals = signals if signals is not None else pair_signals(features)
    z = BIAS + sum(weight * signals[name] for name, weight in _WEIGHTS.items())
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def pair_signals(features: Sequence[ActivityFeatures]) -> dict[str, Matrix]:
    """Each signal as an n×n matrix in [0, 1], keyed as in the weights."""
    text = _tfidf([f.terms for f in features])
    both = _tfidf([f.terms + f.path_terms for f in features])
    files = _jaccard([f.files for f in features])
    timestamps = np.array([f.activity.occurred_at.timestamp() for f in features])
    hours = np.abs(timestamps[:, None] - timestamps[None, :]) / 3600.0
    return {
        "text": np.clip(text @ text.T, 0.0, 1.0),
        "text_and_paths": np.clip(both @ both.T, 0.0, 1.0),
        "directories": _jaccard([f.dirs for f in features]),
        "title": _title_matches([f.activity.title for f in features]),
        "close_in_time": np.exp(-hours / TIME_SCALE_HOURS),
        "shared_file": (files > 0).astype(np.float64),
    }


_WEIGHTS = {
    "text": WEIGHT_TEXT,
    "text_and_paths": WEIGHT_TEXT_AND_PATHS,
    "directories": WEIGHT_DIRECTORIES,
    "title": WEIGHT_TITLE,
    "close_in_time": WEIGHT_CLOSE_IN_TIME,
    "shared_file": WEIGHT_SHARED_FILE,
}


def shared_terms(features: Sequence[ActivityFeatures], limit: int = 3) -> list[str]:
    """The words most members share, rarest-in-the-group first, for the "why" line."""
    if len(features) < 2:
        return []
    counts = Counter(t for f in features for t in set(f.terms))
    shared = [(n, -len(t), t) for t, n in counts.items() if n >= max(2, len(features) // 2)]
    return [t for _, _, t in sorted(shared, reverse=True)[:limit]]


def _tfidf(bags: Sequence[Sequence[str]]) -> Matrix:
    """Row-normalised TF-IDF with sublinear tf; idf from this window only."""
    n = len(bags)
    df = Counter(t for bag in bags for t in set(bag))
    vocabulary = {t: i for i, t in enumerate(df)}
    matrix = np.zeros((n, max(1, len(vocabulary))))
    for row, bag in enumerate(bags):
        for term, count in Counter(bag).items():
            # a term in every item of the window tells them apart no better than nothing
            matrix[row, vocabulary[term]] = (1.0 + math.log(count)) * math.log((n + 1) / (df[term] + 0.5))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(matrix / norms, dtype=np.float64)


def _jaccard(sets: Sequence[frozenset[str]]) -> Matrix:
    n = len(sets)
    result = np.zeros((n, n))
    for i in range(n):
        if not sets[i]:
            continue
        for j in range(i + 1, n):
            if sets[j]:
                common = len(sets[i] & sets[j])
                if common:
                    result[i, j] = result[j, i] = common / len(sets[i] | sets[j])
    return result


def _title_matches(titles: Sequence[str]) -> Matrix:
    """1 when one title's words start the other's: a ticket summary reused as a commit title,
    or "Access Control Management (more tests)" after "Access Control Management"."""
    cores = [title_key(_TRAILING_NOTE.sub("", _TRAILING_NOTE.sub("", t))).split() for t in titles]
    n = len(titles)
    result = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            short, long = sorted((cores[i], cores[j]), key=len)
            if short and long[: len(short)] == short:
                score = 1.0 if len(short) >= MIN_TITLE_WORDS else SHORT_TITLE_MATCH
                result[i, j] = result[j, i] = score
    return result
