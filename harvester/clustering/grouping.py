"""Grouping under constraints: a union-find for near-certain links, then average-linkage
agglomeration over a similarity matrix (or, for a large window, over a sparse graph of pairs),
never joining what the user split or froze."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from harvester.clustering.features import ActivityFeatures
    from harvester.clustering.references import Relation


class ConstrainedUnionFind:
    """Union-find over item indexes that refuses unions breaking a cannot-link pair
    or putting two different frozen groups together."""

    def __init__(self, size: int, cannot_link: Iterable[tuple[int, int]] = (), frozen: Sequence[int] = ()):
        self._parent = list(range(size))
        self._cannot = [(a, b) for a, b in cannot_link if a != b]
        # frozen[i] is the locked candidate item i belongs to, or -1
        self._frozen = list(frozen) if frozen else [-1] * size

    def find(self, item: int) -> int:
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: int, b: int) -> bool:
        """Join the groups of `a` and `b`; False (and no change) if a constraint forbids it."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        fa, fb = self._frozen[ra], self._frozen[rb]
        if fa >= 0 and fb >= 0 and fa != fb:
            return False
        for x, y in self._cannot:
            rx, ry = self.find(x), self.find(y)
            if (rx, ry) in ((ra, rb), (rb, ra)):
                return False
        self._parent[rb] = ra
        self._frozen[ra] = max(fa, fb)
        return True

    def groups(self) -> list[list[int]]:
        """The groups, each sorted, ordered by their first item."""
        by_root: dict[int, list[int]] = {}
        for item in range(len(self._parent)):
            by_root.setdefault(self.find(item), []).append(item)
        return sorted(by_root.values(), key=lambda group: group[0])


def agglomerate(
    similarity: npt.NDArray[np.float64],
    groups: list[list[int]],
    threshold: float,
    *,
    fixed: Sequence[bool] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
) -> list[list[int]]:
    """Average-linkage merging of `groups` (lists of item indexes) while the closest pair of
    groups is at least `threshold` similar. A `fixed` group takes no new members; groups holding
    the two ends of a cannot-link pair never merge."""
    count = len(groups)
    members = [list(g) for g in groups]
    group_of = {item: g for g, items in enumerate(members) for item in items}
    if count == similarity.shape[0] and all(len(items) == 1 for items in members):
        # nothing is linked yet (most stripped windows): group sums are the item similarities
        order = [items[0] for items in members]
        sums = similarity[np.ix_(order, order)].copy()
    else:
        membership = np.zeros((count, similarity.shape[0]))
        for g, items in enumerate(members):
            membership[g, items] = 1.0
        sums = membership @ similarity @ membership.T
    sizes = np.array([len(items) for items in members], dtype=np.float64)
    blocked = np.eye(count, dtype=bool)
    for g, is_fixed in enumerate(fixed):
        if is_fixed:
            blocked[g, :] = blocked[:, g] = True
    for a, b in cannot_link:
        ga, gb = group_of[a], group_of[b]
        blocked[ga, gb] = blocked[gb, ga] = True
    average = sums / np.outer(sizes, sizes)
    average[blocked] = -np.inf
    while count > 1:
        best = int(np.argmax(average))
        a, b = divmod(best, count)
        if average[a, b] < threshold:
            break
        # merge b into a: sums add up, so average linkage stays exact; only row and column a change
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        sizes[a] += sizes[b]
        blocked[a, :] |= blocked[b, :]
        blocked[:, a] |= blocked[:, b]
        blocked[a, a] = True
        blocked[b, :] = blocked[:, b] = True
        row = sums[a, :] / (sizes[a] * sizes)
        row[blocked[a, :]] = -np.inf
        average[a, :] = average[:, a] = row
        average[b, :] = average[:, b] = -np.inf
        members[a].extend(members[b])
        members[b] = []
    return sorted((sorted(m) for m in members if m), key=lambda m: m[0])


@dataclass(frozen=True, slots=True)
class Apart:
    """Facts about each starting group that decide which groups similarity must not join
    (`cluster._kept_apart`'s rules, plus the user's cannot-links as `partners`)."""

    tickets: Sequence[frozenset[str]]
    only_reviews: Sequence[bool]
    terms: Sequence[frozenset[str]]
    fileless: Sequence[bool]
    partners: dict[int, frozenset[int]]

    def pair(self, a: int, b: int) -> bool:
        """Whether starting groups `a` and `b` must stay apart."""
        tickets, terms = self.tickets, self.terms
        return bool(
            (tickets[a] and tickets[b] and tickets[a].isdisjoint(tickets[b]))
            or (self.only_reviews[a] and self.only_reviews[b])
            or ((self.fileless[a] or self.fileless[b]) and terms[a].isdisjoint(terms[b]))
            or b in self.partners.get(a, ())
        )

    def concerned(self, group: int) -> bool:
        """Whether `group` can be kept apart from anything at all: every rule needs one of its
        two groups to hold a ticket, only reviews, no file, or a cannot-link."""
        return bool(self.tickets[group]) or self.only_reviews[group] or self.fileless[group] or group in self.partners


class _Cluster:
    """A group being merged: its starting groups (all, and those some rule may keep apart), its
    size in items and its excess over the baseline with each neighbour."""

    __slots__ = ("concerned", "members", "near", "size")

    def __init__(self, group: int, size: int, concerned: bool) -> None:
        self.members = [group]
        self.concerned = [group] if concerned else []
        self.size = float(size)
        self.near: dict[int, float] = {}


def agglomerate_sparse(
    first: npt.NDArray[np.int64],
    second: npt.NDArray[np.int64],
    probability: npt.NDArray[np.float64],
    baseline: float,
    groups: list[list[int]],
    threshold: float,
    *,
    fixed: Sequence[bool] = (),
    apart: Apart,
) -> list[list[int]]:
    """`agglomerate` over a graph: the listed item pairs (`first`[k], `second`[k]) have their
    probability, every other pair `baseline`; every item is in exactly one of `groups`.

    A group's average with another is baseline + (sum over their listed pairs of probability -
    baseline) / (size product), so the graph keeps only the excess over the baseline. The merges
    follow nearest-neighbour chains: average linkage is reducible (a merged group is never closer
    to a third than the closer of its parts, and a pair kept apart stays apart), so merging two
    groups that are each other's closest gives the groups that always merging the closest pair of
    all gives, up to ties, while each step looks only at one group's neighbours.
    """
    clusters = _graph(first, second, probability - baseline, groups, fixed, apart)
    # the average reaches `threshold` when the excess per item pair reaches this (the baseline is
    # the probability at zero signals, below any threshold in use)
    needed = threshold - baseline
    # sizes by cluster, for scoring a cluster's neighbours at once
    sizes = np.array([cluster.size for cluster in clusters])
    final = [False] * len(clusters)
    starts = list(range(len(clusters) - 1, -1, -1))
    while starts:
        chain = [starts.pop()]
        while chain:
            top = chain[-1]
            below = chain[-2] if len(chain) > 1 else -1
            closest = -1 if final[top] else _closest(clusters, sizes, top, below, needed, apart)
            if closest < 0:
                # nothing is close enough to it, now or after any later merge
                final[top] = True
                chain.pop()
            elif closest == below:
                del chain[-2:]
                merged = _merge(clusters, top, below)
                sizes[merged] = clusters[merged].size
                starts.append(merged)
            else:
                chain.append(closest)
    members = [[item for g in cluster.members for item in groups[g]] for cluster in clusters if cluster.members]
    return sorted((sorted(m) for m in members), key=lambda m: m[0])


def _graph(
    first: npt.NDArray[np.int64],
    second: npt.NDArray[np.int64],
    excess: npt.NDArray[np.float64],
    groups: list[list[int]],
    fixed: Sequence[bool],
    apart: Apart,
) -> list[_Cluster]:
    """One cluster per starting group, with the summed excess of the item pairs between groups;
    a fixed group takes no members, so it has no neighbours."""
    count = len(groups)
    group_of = np.zeros(sum(len(items) for items in groups), dtype=np.int64)
    for g, items in enumerate(groups):
        group_of[items] = g
    is_fixed = np.zeros(count, dtype=bool)
    is_fixed[: len(fixed)] = np.asarray(fixed, dtype=bool)
    ga, gb = group_of[first], group_of[second]
    usable = (ga != gb) & ~is_fixed[ga] & ~is_fixed[gb]
    low, high = np.minimum(ga, gb)[usable], np.maximum(ga, gb)[usable]
    keys, inverse = np.unique(low * count + high, return_inverse=True)
    sums = np.bincount(inverse, weights=excess[usable], minlength=len(keys))
    clusters = [_Cluster(g, len(items), apart.concerned(g)) for g, items in enumerate(groups)]
    for key, weight in zip(keys.tolist(), sums.tolist(), strict=True):
        a, b = divmod(key, count)
        clusters[a].near[b] = clusters[b].near[a] = weight
    return clusters


def _closest(
    clusters: list[_Cluster], sizes: npt.NDArray[np.float64], top: int, below: int, needed: float, apart: Apart
) -> int:
    """The cluster closest to `top` and not kept apart from it, if at least `needed` close;
    `below` (the one before it in the chain) wins a tie, so a chain never cycles."""
    cluster = clusters[top]
    while cluster.near:
        others = np.fromiter(cluster.near.keys(), dtype=np.int64, count=len(cluster.near))
        weights = np.fromiter(cluster.near.values(), dtype=np.float64, count=len(cluster.near))
        scores = weights / (sizes[others] * cluster.size)
        position = int(np.argmax(scores))
        if scores[position] < needed:
            return -1
        closest = int(others[position])
        if below in cluster.near and cluster.near[below] / (sizes[below] * cluster.size) >= scores[position]:
            closest = below
        if not _kept_apart(cluster, clusters[closest], apart):
            return closest
        # kept apart now means kept apart after any merge: forget the pair
        del cluster.near[closest], clusters[closest].near[top]
    return -1


def _merge(clusters: list[_Cluster], a: int, b: int) -> int:
    """Merge `a` and `b` into the one with more neighbours, returned (its neighbours need no
    update): excess sums and sizes add up."""
    keep_id, gone_id = (a, b) if len(clusters[a].near) >= len(clusters[b].near) else (b, a)
    kept, gone = clusters[keep_id], clusters[gone_id]
    del kept.near[gone_id], gone.near[keep_id]
    for other, weight in gone.near.items():
        kept.near[other] = kept.near.get(other, 0.0) + weight
        near = clusters[other].near
        del near[gone_id]
        near[keep_id] = near.get(keep_id, 0.0) + weight
    kept.members.extend(gone.members)
    kept.concerned.extend(gone.concerned)
    kept.size += gone.size
    gone.members, gone.concerned, gone.near = [], [], {}
    return keep_id


def _kept_apart(a: _Cluster, b: _Cluster, apart: Apart) -> bool:
    # a rule needs one side concerned: the concerned groups of one side against all of the other
    return any(apart.pair(x, y) for x in a.concerned for y in b.members) or any(
        apart.pair(x, y) for x in a.members for y in b.concerned
    )


def kept_apart(
    refs: Sequence[dict[str, Relation]],
    groups: list[list[int]],
    features: Sequence[ActivityFeatures],
    cannot: Sequence[tuple[int, int]],
) -> Apart:
    """`cluster._kept_apart`'s rules as facts per group, checked only for groups about to merge
    (the sparse path and the fragment step)."""
    activities = [f.activity for f in features]
    group_of = {i: g for g, group in enumerate(groups) for i in group}
    partners: dict[int, set[int]] = {}
    for a, b in cannot:
        partners.setdefault(group_of[a], set()).add(group_of[b])
        partners.setdefault(group_of[b], set()).add(group_of[a])
    return Apart(
        tickets=[
            frozenset(
                {ref for i in group for ref in refs[i] if ref.startswith("ticket:")}
                | {"item:" + activities[i].id for i in group if activities[i].kind == "ticket"}
            )
            for group in groups
        ],
        only_reviews=[all(activities[i].kind == "review" for i in group) for group in groups],
        terms=[frozenset(t for i in group for t in features[i].terms) for group in groups],
        fileless=[not any(features[i].files for i in group) for group in groups],
        partners={g: frozenset(p) for g, p in partners.items()},
    )
