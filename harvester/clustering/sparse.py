"""The same-work model for a large window, over the pairs that can matter instead of all of them.

A week of one person's work is a few dozen items and `similarity.pair_probabilities` scores all
its pairs as n×n matrices. A window of thousands (a team, a year, a whole export) would take
N × vocabulary and N × N memory, so here the pairs come from blocking: two items are compared
when they share a term, a file, a directory or a title word that not too many items hold, when
one title starts the other, when they are close in time, or when one is a ticket resolved soon
after the other was done. Each of those pairs gets the seven signals, weights and window centring
of `similarity`; every other pair scores as a pair with no signal at all, the window's baseline.
The centring mean is over all pairs, as in `similarity.window_offset`, summed without listing
them: the cosine sum from the rows' total, the two time signals from sorted times, and the
signals that blocking saw fully from the blocked pairs (a sample of the other pairs stands in
for what a too-common column adds). Up to `NEAREST_ABOVE` items this gives the dense path's
groups; beyond, each item keeps only its most probable pairs, which trades some of the
model's weakest merges for linear cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from harvester.clustering import similarity
from harvester.clustering.features import ActivityFeatures
from harvester.clustering.grouping import agglomerate_sparse, kept_apart
from harvester.clustering.references import Relation

Vector = npt.NDArray[np.float64]
Indexes = npt.NDArray[np.int64]

# a column held by more items than this ties too many pairs to list them (a project's top-level
# directory, "fix"): it still counts in the signals of the pairs found otherwise. Every column of
# a window up to this size blocks, so such windows list every pair with a signal
BLOCKING_MAX_HOLDERS = 250
# a weighted signal below this adds next to nothing to a pair: time signals are followed this far
NEGLIGIBLE_SIGNAL = 0.02
# a pair this little above the window's baseline probability counts as the baseline: in a large
# window most listed pairs share a word or two and nothing else
NEGLIGIBLE_EXCESS = 0.005
# in a window of more than `NEAREST_ABOVE` items an item keeps only its `NEAREST` most probable
# pairs: average linkage merges along the strongest ties, and there most items share a common
# word with thousands of others (measured on dev-set windows of 1,000 and 2,000 items: all pairs
# give the dense path's groups, 40 per item lose a fifth of its same-work pairs)
NEAREST = 40
NEAREST_ABOVE = 2500
# there a column blocks only up to this many holders: the pairs it would add beyond are weak
# ones that the nearest pairs leave out anyway (20,000 items: 7.3 -> 2.9 million listed pairs)
LARGE_BLOCKING_MAX_HOLDERS = 100
# in a crowded stretch the nearest this many items either side in time are enough
TIME_NEIGHBOURS = 64
# random pairs that estimate what the too-common columns add to the window's mean (fixed seed:
# the same window always gives the same groups)
OFFSET_SAMPLE_PAIRS = 20000
_SEED = 13
# pairs whose rows are multiplied at once: bounds the memory of the row products
_CHUNK_PAIRS = 200_000


@dataclass(frozen=True, slots=True)
class PairGraph:
    """Same-work probabilities of the listed pairs (`first` < `second`); every other pair of the
    window has the `baseline` probability."""

    size: int
    first: Indexes
    second: Indexes
    probability: Vector
    baseline: float


def model_weights(learned: Mapping[str, float] | None = None) -> tuple[dict[str, float], float]:
    """(signal weights, bias): the declared ones, with a user's learned ones over them
    (`learning.UserModel.weights`, keyed as `similarity.pair_probabilities` takes them)."""
    chosen = {**similarity._WEIGHTS, "bias": similarity.BIAS, **(learned or {})}
    return {name: chosen[name] for name in similarity._WEIGHTS}, chosen["bias"]


def pair_graph(features: Sequence[ActivityFeatures], learned: Mapping[str, float] | None = None) -> PairGraph:
    """The blocked pairs of a window and their probabilities under the `similarity` model."""
    weights, bias = model_weights(learned)
    n = len(features)
    matrices = (
        _tfidf(_bags([f.terms + f.path_terms for f in features])),
        _binary(_bags([tuple(f.dirs) for f in features])),
        _binary(_bags([tuple(f.files) for f in features])),
        _binary(_bags([tuple(set(f.title_words)) for f in features])),
    )
    hours = np.array([f.activity.occurred_at.timestamp() for f in features]) / 3600.0
    kinds = [f.activity.kind for f in features]
    cap = BLOCKING_MAX_HOLDERS if n <= NEAREST_ABOVE else LARGE_BLOCKING_MAX_HOLDERS
    title_first, title_second, title_score = _title_pairs([f.title_words for f in features])
    text, dirs, files, words = blocked = [_sharing(matrix, cap) for matrix in matrices]
    keys = _union(
        [
            *(blocking.keys for blocking in blocked),
            title_first * n + title_second,
            _time_pairs(hours, weights["close_in_time"]),
            _resolution_pairs(hours, kinds, weights["before_resolution"]),
        ]
    )
    title_keys = title_first * n + title_second
    raw = np.zeros(len(keys))
    totals = dict.fromkeys(weights, 0.0)
    # a chunk of pairs at a time: a large window lists millions, and seven signals each
    for start in range(0, len(keys), _CHUNK_PAIRS):
        part = keys[start : start + _CHUNK_PAIRS]
        signals = _signals(part // n, part % n, text, dirs, files, words, hours, kinds)
        inside = (title_keys >= part[0]) & (title_keys <= part[-1])
        signals["title"] = _lookup(part, title_keys[inside], title_score[inside])
        for name, weight in weights.items():
            raw[start : start + len(part)] += weight * signals[name]
            totals[name] += float(signals[name].sum())
    total = _blocked_total(text, hours, kinds, weights, totals)
    if any(blocking.capped for blocking in blocked):
        total += _unblocked_estimate(keys, n, dirs, files, words, weights)
    offset = total / (n * (n - 1) / 2)
    probability = _logistic(bias + raw - offset)
    del raw
    baseline = float(_logistic(np.array([bias - offset]))[0])
    keep = np.flatnonzero(probability - baseline >= NEGLIGIBLE_EXCESS)
    # only the kept pairs are split into their items: most listed pairs are at the baseline
    keys, probability = keys[keep], probability[keep]
    first, second = keys // n, keys % n
    del keys, keep
    if n > NEAREST_ABOVE:
        nearest = _nearest(first, second, probability, n)
        first, second, probability = first[nearest], second[nearest], probability[nearest]
    return PairGraph(size=n, first=first, second=second, probability=probability, baseline=baseline)


def _nearest(first: Indexes, second: Indexes, probability: Vector, n: int) -> Indexes:
    """The pairs among the `NEAREST` most probable of either of their items."""
    by_probability = np.argsort(-probability, kind="stable")
    # both ends of each pair, most probable pair first; a stable sort by item keeps that order
    ends = np.stack([first[by_probability], second[by_probability]], axis=1).ravel().astype(np.int32)
    order = _stable_order(ends)
    counts = np.bincount(ends, minlength=n).astype(np.int32)
    del ends
    # int32 throughout: a 20,000-item window has ~14 million pair ends
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32) - np.repeat(np.cumsum(counts, dtype=np.int32) - counts, counts)
    del order
    kept: Indexes = np.sort(by_probability[rank.reshape(-1, 2).min(axis=1) < NEAREST])
    return kept


def _stable_order(items: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """`np.argsort(items, kind="stable")` for non-negative int32, as int32: two stable passes over
    16-bit halves, which numpy sorts by radix (measured, 5.8 million pair ends of a 20,000-item
    window: 0.38 s as one int32 argsort, 0.08 s as one 16-bit pass)."""
    # astype to uint16 keeps the low 16 bits
    order = np.argsort(items.astype(np.uint16), kind="stable").astype(np.int32)
    if len(items) and int(items.max()) > 0xFFFF:
        order = order[np.argsort((items[order] >> 16).astype(np.uint16), kind="stable")]
    return order


def sparse_groups(
    features: Sequence[ActivityFeatures],
    refs: Sequence[dict[str, Relation]],
    linked: list[list[int]],
    threshold: float,
    *,
    fixed: Sequence[bool],
    cannot: Sequence[tuple[int, int]],
    weights: Mapping[str, float] | None = None,
) -> list[list[int]]:
    """`cluster.cluster_week`'s similarity step for a large window: average-linkage merging of
    the `linked` groups over the blocked pairs, under the same constraints and kept-apart rules.
    `weights`: the user's learned coefficients, as `similarity.pair_probabilities` takes them."""
    graph = pair_graph(features, weights)
    return agglomerate_sparse(
        graph.first,
        graph.second,
        graph.probability,
        graph.baseline,
        linked,
        threshold,
        fixed=fixed,
        apart=kept_apart(refs, linked, features, cannot),
    )


def _bags(bags: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    """Counts: one row per bag, one column per distinct member."""
    vocabulary: dict[str, int] = {}
    columns = np.fromiter(
        (vocabulary.setdefault(member, len(vocabulary)) for bag in bags for member in bag), dtype=np.int64
    )
    rows = np.repeat(np.arange(len(bags)), [len(bag) for bag in bags])
    shape = (len(bags), max(1, len(vocabulary)))
    return sparse.csr_matrix((np.ones(len(columns)), (rows, columns)), shape=shape)


def _union(parts: Sequence[Indexes]) -> Indexes:
    """The distinct keys of all parts, sorted (measured: a sort beats numpy's hashing `unique`
    on millions of keys by about 2x)."""
    keys = np.sort(np.concatenate(parts))
    distinct: Indexes = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
    return distinct


def _binary(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    result = counts.copy()
    result.data[:] = 1.0
    return result


def _tfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """`similarity._tfidf` on sparse rows: sublinear tf, idf from this window, unit rows."""
    n = counts.shape[0]
    holders = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((n + 1) / (holders + 0.5))
    matrix = counts.copy()
    matrix.data = (1.0 + np.log(np.maximum(matrix.data, 1.0))) * idf[matrix.indices]
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


@dataclass(frozen=True, slots=True)
class _Blocking:
    """One signal's rows, split by how many rows hold a column: the pairs sharing a rare column
    with their dot products over the rare columns, and the rows over the too-common ones."""

    rows: sparse.csr_matrix
    keys: Indexes
    rare_dots: sparse.csr_matrix
    common: sparse.csr_matrix

    @property
    def capped(self) -> bool:
        return bool(self.common.shape[1])

    def dots(self, first: Indexes, second: Indexes) -> Vector:
        """Row dot products of the pairs (`first` < `second`)."""
        rare = np.asarray(self.rare_dots[first, second]).ravel() if len(first) else np.zeros(0)
        if not self.capped:
            return rare
        return rare + _row_dots(self.common, first, second)


def _sharing(matrix: sparse.csr_matrix, cap: int) -> _Blocking:
    """Keys (i * n + j, i < j) of the pairs sharing a column held by at most `cap` rows."""
    n = matrix.shape[0]
    holders = np.bincount(matrix.indices, minlength=matrix.shape[1])
    rare = sparse.csr_matrix(matrix[:, np.flatnonzero(holders <= cap)])
    product = sparse.csr_matrix(sparse.triu(rare @ rare.T, k=1))
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(product.indptr))
    return _Blocking(
        rows=matrix,
        keys=rows * n + product.indices.astype(np.int64),
        rare_dots=product,
        common=sparse.csr_matrix(matrix[:, np.flatnonzero(holders > cap)]),
    )


def _title_pairs(cores: Sequence[tuple[str, ...]]) -> tuple[Indexes, Indexes, Vector]:
    """`similarity._title_matches` as a list: pairs where one title's words start the other's."""
    holders: dict[tuple[str, ...], list[int]] = {}
    for i, core in enumerate(cores):
        if core:
            holders.setdefault(core, []).append(i)
    scores: dict[tuple[int, int], float] = {}
    for j, core in enumerate(cores):
        for length in range(1, len(core) + 1):
            score = 1.0 if length >= similarity.MIN_TITLE_WORDS else similarity.SHORT_TITLE_MATCH
            for i in holders.get(core[:length], ()):
                if i != j:
                    scores[(min(i, j), max(i, j))] = score
    pairs = np.array(list(scores), dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1], np.fromiter(scores.values(), dtype=np.float64, count=len(scores))


def _time_pairs(hours: Vector, weight: float) -> Indexes:
    """Pairs close enough in time for the time signal to count, nearest first in a crowd."""
    reach = similarity.TIME_SCALE_HOURS * math.log(max(weight, NEGLIGIBLE_SIGNAL) / NEGLIGIBLE_SIGNAL)
    order = np.argsort(hours, kind="stable")
    ordered = hours[order]
    keys = []
    for step in range(1, min(TIME_NEIGHBOURS, len(order) - 1) + 1):
        close = np.flatnonzero(ordered[step:] - ordered[:-step] <= reach)
        if not len(close):
            break
        keys.append(_keys(order[close], order[close + step], len(order)))
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)


def _resolution_pairs(hours: Vector, kinds: Sequence[str], weight: float) -> Indexes:
    """Each ticket with the work done in the days before its resolution, nearest first."""
    days = hours / 24.0
    reach = similarity.RESOLUTION_SCALE_DAYS * math.log(max(weight, NEGLIGIBLE_SIGNAL) / NEGLIGIBLE_SIGNAL)
    work = np.flatnonzero(np.isin(kinds, list(similarity._WORK_KINDS)))
    work = work[np.argsort(days[work], kind="stable")]
    work_days = days[work]
    keys = []
    for ticket in np.flatnonzero(np.asarray(kinds) == "ticket"):
        start = np.searchsorted(work_days, days[ticket] - reach, side="left")
        stop = np.searchsorted(work_days, days[ticket] + similarity.RESOLUTION_SKEW_DAYS, side="right")
        chosen = work[max(start, stop - TIME_NEIGHBOURS) : stop]
        keys.append(_keys(np.full(len(chosen), ticket), chosen, len(days)))
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)


def _keys(a: Indexes, b: Indexes, n: int) -> Indexes:
    return np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b).astype(np.int64)


def _signals(
    first: Indexes,
    second: Indexes,
    text: _Blocking,
    dirs: _Blocking,
    files: _Blocking,
    words: _Blocking,
    hours: Vector,
    kinds: Sequence[str],
) -> dict[str, Vector]:
    """The signals of `similarity.pair_signals` for the listed pairs (without "title")."""
    return {
        "text_and_paths": np.clip(text.dots(first, second), 0.0, 1.0),
        "directories": _jaccard(dirs, first, second),
        "title_overlap": _jaccard(words, first, second),
        "close_in_time": np.exp(-np.abs(hours[first] - hours[second]) / similarity.TIME_SCALE_HOURS),
        "shared_file": (files.dots(first, second) > 0).astype(np.float64),
        "before_resolution": _before_resolution(first, second, hours / 24.0, kinds),
    }


def _row_dots(matrix: sparse.csr_matrix, first: Indexes, second: Indexes) -> Vector:
    """Dot products of the rows of each pair, a chunk of pairs at a time."""
    result = np.zeros(len(first))
    for start in range(0, len(first), _CHUNK_PAIRS):
        part = slice(start, start + _CHUNK_PAIRS)
        result[part] = np.asarray(matrix[first[part]].multiply(matrix[second[part]]).sum(axis=1)).ravel()
    return result


def _jaccard(incidence: _Blocking, first: Indexes, second: Indexes) -> Vector:
    common = incidence.dots(first, second)
    sizes = np.diff(incidence.rows.indptr).astype(np.float64)
    union = sizes[first] + sizes[second] - common
    result: Vector = np.divide(common, union, out=np.zeros_like(common), where=union > 0)
    return result


def _before_resolution(first: Indexes, second: Indexes, days: Vector, kinds: Sequence[str]) -> Vector:
    is_ticket = np.asarray(kinds) == "ticket"
    is_work = np.isin(kinds, list(similarity._WORK_KINDS))
    result = np.zeros(len(first))
    for ticket, work in ((first, second), (second, first)):
        mask = is_ticket[ticket] & is_work[work]
        result[mask] = np.maximum(result[mask], _fading(days[ticket[mask]] - days[work[mask]]))
    return result


def _fading(days_before: Vector) -> Vector:
    faded = np.exp(-np.clip(days_before, 0.0, None) / similarity.RESOLUTION_SCALE_DAYS)
    return np.where(days_before >= -similarity.RESOLUTION_SKEW_DAYS, faded, 0.0)


def _lookup(keys: Indexes, found: Indexes, values: Vector) -> Vector:
    """`values` at the positions of `found` among the sorted `keys`, 0 elsewhere."""
    result = np.zeros(len(keys))
    result[np.searchsorted(keys, found)] = values
    return result


def _blocked_total(
    text: _Blocking,
    hours: Vector,
    kinds: Sequence[str],
    weights: Mapping[str, float],
    listed: Mapping[str, float],
) -> float:
    """The weighted signals summed over all pairs of the window, as far as the listed pairs and
    closed forms know them; `listed` has each signal summed over the listed pairs."""
    totals = dict(listed)
    rows = np.asarray(text.rows.sum(axis=0)).ravel()
    # sum over i < j of row_i . row_j = (|sum of rows|^2 - sum of |row|^2) / 2
    totals["text_and_paths"] = float(rows @ rows - text.rows.multiply(text.rows).sum()) / 2.0
    totals["close_in_time"] = _kernel_total(np.sort(hours), similarity.TIME_SCALE_HOURS)
    totals["before_resolution"] = _resolution_total(hours / 24.0, kinds)
    return sum(weights[name] * total for name, total in totals.items())


def _kernel_total(ordered: Vector, scale: float) -> float:
    """Sum of exp(-|t_i - t_j| / scale) over all pairs of sorted times, in one pass: the sum
    over the times before each one decays by the gap to the next."""
    total = running = 0.0
    for gap in np.diff(ordered) / scale:
        running = math.exp(-gap) * (running + 1.0)
        total += running
    return total


def _resolution_total(days: Vector, kinds: Sequence[str]) -> float:
    """Sum of the resolution signal over every (ticket, work) pair of the window."""
    work_days = np.sort(days[np.isin(kinds, list(similarity._WORK_KINDS))])
    ticket_days = np.sort(days[np.asarray(kinds) == "ticket"])
    scale = similarity.RESOLUTION_SCALE_DAYS
    total = 0.0
    # work up to the resolution fades with the days before it; within the clock skew after, 1.
    # `running` is the faded count of the work taken so far, as seen from the last of it
    running, last, taken = 0.0, 0.0, 0
    for day in ticket_days:
        while taken < len(work_days) and work_days[taken] <= day:
            running = running * math.exp(-(work_days[taken] - last) / scale) + 1.0
            last = work_days[taken]
            taken += 1
        total += running * math.exp(-(day - last) / scale)
        total += float(
            np.searchsorted(work_days, day + similarity.RESOLUTION_SKEW_DAYS, side="right")
            - np.searchsorted(work_days, day, side="right")
        )
    return total


def _unblocked_estimate(
    keys: Indexes,
    n: int,
    dirs: _Blocking,
    files: _Blocking,
    words: _Blocking,
    weights: Mapping[str, float],
) -> float:
    """What pairs tied only by a too-common column add to the window's total, from a sample."""
    rng = np.random.default_rng(_SEED)
    a, b = rng.integers(0, n, OFFSET_SAMPLE_PAIRS), rng.integers(0, n, OFFSET_SAMPLE_PAIRS)
    sampled = _keys(a[a != b], b[a != b], n)
    position = np.minimum(np.searchsorted(keys, sampled), max(0, len(keys) - 1))
    outside = sampled[keys[position] != sampled] if len(keys) else sampled
    if not len(outside):
        return 0.0
    first, second = outside // n, outside % n
    # every title match is listed, so outside pairs have none
    raw = (
        weights["directories"] * _jaccard(dirs, first, second)
        + weights["title_overlap"] * _jaccard(words, first, second)
        + weights["shared_file"] * (files.dots(first, second) > 0)
    )
    return float(raw.mean()) * (n * (n - 1) / 2 - len(keys))


def _logistic(z: Vector) -> Vector:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
