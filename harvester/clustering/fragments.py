"""Joining the fragments of one piece of work that average linkage left apart.

A big ticket's commits often come out of the pair model as several groups with no wrong pair
between them: each fragment is a run of commits that resemble one another, and between fragments
the average pair is below the grouping threshold (dev set: of 3,445 same-work pairs missed, 2,834
were commit pairs, half of them in about 20 windows split this way). A group-level logistic
model then decides from facts about two whole groups whether they are one piece of work: the
log-odds of their average pair, the TF-IDF cosine of their pooled terms, whether neither holds a
ticket, whether one is a single item, and how many tickets the window has per commit or pull
request. The last is a prior on how many pieces of work the week holds: 28 commits and one
resolved ticket are a few pieces of work, 10 commits and 8 tickets are many. A window without
tickets gives no such count, and nothing merges there.
Merging follows the most probable pair while its probability is at least `MERGE_THRESHOLD`. The
model's target is the share of same-work item pairs between the two groups, so the threshold
reads as the precision a merge must promise. The weights are declared constants fitted with
`benchmarks/cluster_fit.py` on the groups the pair model makes of the stripped dev set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from harvester.clustering.features import ActivityFeatures
from harvester.clustering.grouping import Apart
from harvester.clustering.similarity import Matrix, term_matrix

WEIGHT_AVERAGE = 1.51
WEIGHT_TERMS = 3.37
WEIGHT_NO_TICKET = 1.19
WEIGHT_SINGLE_ITEM = 0.81
WEIGHT_TICKETS_PER_WORK = -1.29
BIAS = -2.38
# the share of same-work item pairs a merge must promise: on the dev set 0.45 gives F1 0.808
# and 0.5 0.806 in-sample, but fits moved from pdfbox to jackrabbit-oak score 0.848 and 0.862
MERGE_THRESHOLD = 0.5
# probabilities are compared as log-odds, kept finite
_CLIP = 1e-4
# the model was fitted on commits, pull requests and tickets; a group holding a meeting or a
# review keeps what the pair model made of it
_FITTED_KINDS = frozenset({"commit", "pull_request", "ticket"})
_WORK_KINDS = frozenset({"commit", "pull_request"})

Indexes = npt.NDArray[np.intp]
Flags = npt.NDArray[np.bool_]


def merge_fragments(
    probability: Matrix,
    groups: list[list[int]],
    features: Sequence[ActivityFeatures],
    *,
    fixed: Sequence[bool],
    apart: Callable[[], Apart],
    terms: Matrix | None = None,
) -> list[list[int]]:
    """Join `groups` (lists of item indexes) that the group model finds to be one piece of work.

    `probability` is the window's pair matrix; a `fixed` group takes no new members, and `apart`
    gives the facts of each group that decide what must stay apart (different tickets, the
    user's cannot-links...), combined for a merged group and asked again of it: a ticket kept
    from one fragment for sharing no word with it may join that fragment and its sibling, which
    does. They are asked for only when some pair is probable enough to merge (most windows
    have none). `terms` is `similarity.term_matrix(features)` when the caller has it already.
    """
    if len(groups) < 2 or not any(f.activity.kind == "ticket" for f in features):
        return groups
    state = FragmentState(probability, groups, features, fixed, apart, terms)
    threshold = float(np.log(MERGE_THRESHOLD / (1.0 - MERGE_THRESHOLD)))
    while True:
        a, b = divmod(int(np.argmax(state.score)), state.score.shape[0])
        if state.score[a, b] < threshold:
            break
        # the rules are asked only of a pair about to merge: most pairs never come near it
        if state.apart.pair(a, b):
            state.score[a, b] = state.score[b, a] = -np.inf
        else:
            state.merge(a, b)
    return sorted((sorted(m) for m in state.members if m), key=lambda m: m[0])


_WEIGHTS = {
    "average": WEIGHT_AVERAGE,
    "terms": WEIGHT_TERMS,
    "no_ticket": WEIGHT_NO_TICKET,
    "single_item": WEIGHT_SINGLE_ITEM,
    "tickets_per_work": WEIGHT_TICKETS_PER_WORK,
}


def _logit(p: Matrix) -> Matrix:
    clipped = np.clip(p, _CLIP, 1.0 - _CLIP)
    return np.asarray(np.log(clipped / (1.0 - clipped)), dtype=np.float64)


def _unit(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return np.asarray(rows / np.where(norms > 0, norms, 1.0), dtype=np.float64)


class FragmentState:
    """The groups being merged: per pair of groups the summed item-pair probability and the
    cosine of their pooled terms, per group its size, whether it holds a ticket and its
    kept-apart facts. A merge changes only the merged group's row, so each costs one row of
    scores. `blocked` and `signal` are what `benchmarks/cluster_fit.py` fits the weights on."""

    def __init__(
        self,
        probability: Matrix,
        groups: list[list[int]],
        features: Sequence[ActivityFeatures],
        fixed: Sequence[bool],
        apart: Callable[[], Apart],
        terms: Matrix | None = None,
    ) -> None:
        count, n = len(groups), len(features)
        self.members = [list(g) for g in groups]
        membership = np.zeros((count, n))
        for g, items in enumerate(groups):
            membership[g, items] = 1.0
        self.sums: Matrix = membership @ probability @ membership.T
        self.sizes: Matrix = membership.sum(axis=1)
        kinds = [f.activity.kind for f in features]
        self.ticket = np.array([any(kinds[i] == "ticket" for i in items) for items in groups])
        tickets = kinds.count("ticket")
        work = sum(kind in _WORK_KINDS for kind in kinds)
        self.tickets_per_work = float(np.log((tickets + 1) / (work + 1)))
        # TF-IDF weights are positive: a term is in an item where its weight is
        present = (term_matrix(features) if terms is None else terms) > 0
        # a term most of the window uses tells two groups apart no better than nothing
        self.idf = np.log((n + 1) / (present.sum(axis=0) + 0.5))
        self.profiles: Matrix = membership @ present.astype(np.float64)
        weighted = _unit(self.profiles * self.idf)
        self.cosine: Matrix = weighted @ weighted.T
        self.frozen = np.array(
            [
                (g < len(fixed) and fixed[g]) or not _FITTED_KINDS.issuperset(kinds[i] for i in items)
                for g, items in enumerate(groups)
            ]
        )
        self._facts = apart
        self._apart: Apart | None = None
        self.score = self._scores(np.arange(count))
        self.score[self.frozen, :] = self.score[:, self.frozen] = -np.inf
        np.fill_diagonal(self.score, -np.inf)

    def signal(self, name: str, rows: Indexes | None = None) -> Matrix:
        """One signal of the given groups (all when None) against every group."""
        rows = np.arange(len(self.members)) if rows is None else rows
        if name == "average":
            sizes = self.sizes[rows][:, None] * self.sizes[None, :]
            return _logit(self.sums[rows] / np.maximum(sizes, 1.0))
        if name == "terms":
            return np.asarray(self.cosine[rows], dtype=np.float64)
        if name == "no_ticket":
            return np.asarray(~self.ticket[rows][:, None] & ~self.ticket[None, :], dtype=np.float64)
        if name == "single_item":
            return np.asarray(np.minimum(self.sizes[rows][:, None], self.sizes[None, :]) == 1, dtype=np.float64)
        return np.full((len(rows), len(self.members)), self.tickets_per_work)

    def merge(self, a: int, b: int) -> None:
        """Merge group `b` into `a`: sums, sizes, term profiles and facts add up."""
        self.sums[a, :] += self.sums[b, :]
        self.sums[:, a] = self.sums[a, :]
        self.sizes[a] += self.sizes[b]
        self.sizes[b] = 0.0
        self.ticket[a] |= self.ticket[b]
        self.profiles[a] += self.profiles[b]
        weighted = _unit(self.profiles * self.idf)
        self.cosine[a, :] = self.cosine[:, a] = weighted @ weighted[a]
        self.members[a].extend(self.members[b])
        self.members[b] = []
        self._combine(a, b)
        self.frozen[b] = True
        row = self._scores(np.array([a]))[0]
        row[self.frozen] = -np.inf
        row[a] = -np.inf
        self.score[a, :] = self.score[:, a] = row
        self.score[b, :] = self.score[:, b] = -np.inf

    def _scores(self, rows: Indexes) -> Matrix:
        total = sum(weight * self.signal(name, rows) for name, weight in _WEIGHTS.items())
        return np.asarray(BIAS + total, dtype=np.float64)

    @property
    def apart(self) -> Apart:
        """The groups' kept-apart facts: copies, updated in place as groups merge."""
        if self._apart is None:
            facts = self._facts()
            self._apart = Apart(
                tickets=list(facts.tickets),
                only_reviews=list(facts.only_reviews),
                terms=list(facts.terms),
                fileless=list(facts.fileless),
                partners=dict(facts.partners),
            )
        return self._apart

    def blocked(self) -> Flags:
        """Which pairs of groups may not merge (computed for all pairs, for fitting)."""
        count = len(self.members)
        rows = [self.frozen | self.frozen[g] | (np.arange(count) == g) for g in range(count)]
        return np.array([[row[o] or self.apart.pair(g, o) for o in range(count)] for g, row in enumerate(rows)])

    def _combine(self, a: int, b: int) -> None:
        """The kept-apart facts of `a` after `b` joined it."""
        facts = self.apart
        assert isinstance(facts.tickets, list) and isinstance(facts.only_reviews, list)
        assert isinstance(facts.terms, list) and isinstance(facts.fileless, list)
        facts.tickets[a] = facts.tickets[a] | facts.tickets[b]
        facts.only_reviews[a] = facts.only_reviews[a] and facts.only_reviews[b]
        facts.terms[a] = facts.terms[a] | facts.terms[b]
        facts.fileless[a] = facts.fileless[a] and facts.fileless[b]
        partners = facts.partners
        joined = partners.pop(a, frozenset()) | partners.pop(b, frozenset())
        if joined - {a, b}:
            partners[a] = joined - {a, b}
        for other, theirs in list(partners.items()):
            if b in theirs:
                partners[other] = (theirs - {b}) | {a}
