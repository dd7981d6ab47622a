"""Does learning from a user's merges and splits improve that user's next weeks? Replayed on the dev sets.

    python benchmarks/learning.py [--eval-dir ../shared/eval] [--pipeline blank|trained] [--no-approvals]

Each author of the eval set is one user. Their windows are replayed in time order: each window is
clustered with the declared weights and with the user's learned weights; then the user fixes the
learned clustering to the true grouping as review would: every item in a candidate with another
piece of work is split off (its pairs with the other work: cannot), the fragments of one piece of
work are merged (their pairs: must), and each resulting candidate of several items is approved
(its pairs: must; `--no-approvals` leaves approvals out). Each of these actions is one update of
`learning.update_weights`, with its bounds. Pairwise F1 is reported on the windows after each
user's first (the first is clustered the same either way), pooled, by how many windows the user
had reviewed before, and by project; then again for each project's users starting from weights
fitted on the other project (the cross-project transfer of `cluster_fit.py`), and on dev.jsonl.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import cluster_fit  # noqa: E402

from harvester.clustering import cluster_week, learning, similarity  # noqa: E402

# how many windows the user had reviewed before the scored one
STAGES = ((1, 2), (3, 5), (6, 10), (11, 1_000))
Decision = list[tuple[int, int, bool]]


def predicted_groups(window: Mapping[str, Any], weights: Mapping[str, float] | None) -> list[int]:
    """The candidate number of each activity of the window, in the window's order."""
    where = {}
    candidates = cluster_week(window["activities"], features=window["features"], weights=weights)
    for number, candidate in enumerate(candidates):
        for activity_id in candidate.activity_ids:
            where[activity_id] = number
    return [where[a.id] for a in window["activities"]]


def pair_counts(truth: Sequence[str], predicted: Sequence[int]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """(true positive, false positive, false negative) item pairs of one window."""
    t, p = np.array(truth), np.array(predicted)
    upper = np.triu_indices(len(t), 1)
    same_t, same_p = (t[:, None] == t[None, :])[upper], (p[:, None] == p[None, :])[upper]
    return np.array([(same_t & same_p).sum(), (~same_t & same_p).sum(), (same_t & ~same_p).sum()], dtype=np.int64)


def f1(counts: np.ndarray[Any, np.dtype[np.int64]]) -> str:
    tp, fp, fn = (int(c) for c in counts)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return f"P {precision:.3f} R {recall:.3f} F1 {2 * precision * recall / max(1e-9, precision + recall):.3f}"


def review_decisions(truth: Sequence[str], predicted: Sequence[int], *, approvals: bool) -> list[Decision]:
    """The user's actions that turn `predicted` into `truth`, each as its labelled pairs (indices)."""
    decisions: list[Decision] = []
    fragments: dict[str, list[list[int]]] = defaultdict(list)
    for group in sorted(set(predicted)):
        members = [i for i, p in enumerate(predicted) if p == group]
        kept = Counter(truth[i] for i in members).most_common(1)[0][0]
        rest = [i for i in members if truth[i] == kept]
        fragments[kept].append(rest)
        for label in sorted({truth[i] for i in members} - {kept}):
            moved = [i for i in members if truth[i] == label]
            # each split item said "not with this work"; the items split off together are merged back
            decisions += [[(i, j, False) for j in rest] for i in moved]
            fragments[label].append(moved)
    approved: list[int] = []
    for parts in fragments.values():
        for part in parts[1:]:
            decisions.append([(i, j, True) for i in parts[0] for j in part])
        whole = [i for part in parts for i in part]
        if approvals:
            # an approved candidate: its items together, and apart from the candidates approved before it
            pairs = [(i, j, True) for i, j in combinations(whole, 2)] + [(i, j, False) for i in whole for j in approved]
            if pairs:
                decisions.append(pairs)
        approved += whole
    return decisions


def replay(windows: Sequence[dict[str, Any]], *, approvals: bool) -> dict[str, Any]:
    by_author: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w in windows:
        by_author[w["author"]].append(w)
    stages = {stage: np.zeros((2, 3), dtype=np.int64) for stage in STAGES}
    projects: dict[str, np.ndarray[Any, np.dtype[np.int64]]] = defaultdict(lambda: np.zeros((2, 3), dtype=np.int64))
    drift: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    declared = learning.declared_weights()
    for author_windows in by_author.values():
        weights: dict[str, float] = dict(declared)
        for seen, w in enumerate(sorted(author_windows, key=lambda w: w["window_id"].rsplit("/", 1)[1])):
            truth = [w["truth"][a.id] for a in w["activities"]]
            learned = predicted_groups(w, weights)
            if seen:
                counts = np.stack([pair_counts(truth, predicted_groups(w, None)), pair_counts(truth, learned)])
                next(v for (low, high), v in stages.items() if low <= seen <= high)[...] += counts
                projects[w["project"]] += counts
            for decision in review_decisions(truth, learned, approvals=approvals):
                weights = learning.learn_pairs(weights, w["signals"], decision)
        drift.append(np.array([weights[name] - declared[name] for name in declared]))
    return {"stages": stages, "projects": dict(projects), "drift": np.array(drift), "names": list(declared)}


def report(name: str, result: Mapping[str, Any]) -> None:
    total = sum(result["stages"].values())
    print(f"\n{name}: pairwise figures on each user's windows after the first")
    print(f"{'windows reviewed before':26} {'declared weights':32} {'learned weights':32}")
    for (low, high), counts in result["stages"].items():
        label = f"{low}-{high}" if high < 1_000 else f"{low}+"
        print(f"{label:26} {f1(counts[0]):32} {f1(counts[1]):32}")
    print(f"{'all':26} {f1(total[0]):32} {f1(total[1]):32}")
    for project, counts in sorted(result["projects"].items()):
        print(f"{project:26} {f1(counts[0]):32} {f1(counts[1]):32}")
    drift = result["drift"]
    print("learned minus declared, over users: mean (largest)")
    largest = np.abs(drift).max(axis=0)
    shown = zip(result["names"], drift.mean(axis=0), largest, strict=True)
    print("  " + "  ".join(f"{name} {mean:+.2f} ({most:.2f})" for name, mean, most in shown))


def transferred(windows: Sequence[dict[str, Any]], *, approvals: bool) -> None:
    """The same replay on each project's users, starting from weights fitted on the other project:
    how much a user gains when the declared weights do not fit their work (the held-out set has
    other projects and people)."""
    names = list(similarity._WEIGHTS)
    saved = dict(similarity._WEIGHTS), similarity.BIAS, similarity.TYPICAL_OFFSET
    projects = sorted({w["project"] for w in windows})
    for train in projects:
        weights, bias, typical = cluster_fit.fit([w for w in windows if w["project"] == train], names)
        similarity._WEIGHTS.update(weights)
        similarity.BIAS, similarity.TYPICAL_OFFSET = bias, typical
        try:
            for test in projects:
                if test != train:
                    result = replay([w for w in windows if w["project"] == test], approvals=approvals)
                    report(f"dev_stripped.jsonl, fitted on {train}, users of {test}", result)
        finally:
            similarity._WEIGHTS.update(saved[0])
            similarity.BIAS, similarity.TYPICAL_OFFSET = saved[1], saved[2]


def with_links(eval_dir: Path, model: str | None) -> list[dict[str, Any]]:
    # cluster_fit.load reads dev_stripped.jsonl of a directory; a directory naming dev.jsonl so loads it
    with tempfile.TemporaryDirectory() as alias:
        (Path(alias) / "dev_stripped.jsonl").symlink_to((eval_dir / "dev.jsonl").resolve())
        return cluster_fit.load(Path(alias), model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=cluster_fit.EVAL_DIR)
    parser.add_argument("--pipeline", choices=["blank", "trained"], default="blank")
    parser.add_argument("--no-approvals", action="store_true", help="learn from merges and splits only")
    args = parser.parse_args()
    model = None if args.pipeline == "blank" else "en_core_web_sm"
    print(f"bounds: step {learning.STEP_BOUND} per decision, {learning.WEIGHT_BOUND} around the declared weights")
    stripped = cluster_fit.load(args.eval_dir, model)
    report("dev_stripped.jsonl", replay(stripped, approvals=not args.no_approvals))
    transferred(stripped, approvals=not args.no_approvals)
    report("dev.jsonl", replay(with_links(args.eval_dir, model), approvals=not args.no_approvals))


if __name__ == "__main__":
    main()
