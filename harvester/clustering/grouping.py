"""Grouping under constraints: a union-find for near-certain links, then average-linkage
agglomeration over a similarity matrix, never joining what the user split or froze."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt


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
