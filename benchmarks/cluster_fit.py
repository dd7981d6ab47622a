"""Fitting the similarity and fragment models' weights on the stripped dev set, and checking they generalize.

    python benchmarks/cluster_fit.py [--eval-dir ../shared/eval] [--pipeline blank|trained] [--no-centring]
        [--no-fragments]

Fits a logistic regression (Newton's method, light L2) of "same Jira issue" on the pair signals
of every pair inside every window, each signal centred on its mean over the window's pairs (as
`similarity.pair_probabilities` scores them), then scores the whole clustering step with: the
declared weights, weights fitted on both projects, weights fitted on one project scored on the
other, and weights fitted on half of the authors scored on the other half (the checks that they
transfer; the held-out set has other projects and people). `--no-centring` fits and scores the
raw signals instead (the model before window centring).

Then, on the groups the fitted pair model makes of the same training windows, it fits the fragment
model (`fragments.py`): a weighted logistic regression of the share of same-work item pairs between
two groups, each pair of groups weighted by its item pairs. Every score after "declared" fits both
models on the training part; `--no-fragments` fits and scores the pair model alone (before the
fragment step).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harvester.clustering import cluster, cluster_week, extract_features, fragments, load_pipeline, similarity  # noqa: E402
from harvester.records import Activity  # noqa: E402

L2 = 1e-2
# the fragment model sees some 4,000 pairs of groups against the pair model's 51,687 pairs
FRAGMENT_L2 = 0.1


def load(eval_dir: Path, model: str | None) -> list[dict[str, Any]]:
    nlp = load_pipeline(model)
    windows = [json.loads(line) for line in (eval_dir / "dev_stripped.jsonl").open() if line.strip()]
    activities = [[Activity.from_json(item) for item in w["items"]] for w in windows]
    features = extract_features(nlp, [a for acts in activities for a in acts])
    start = 0
    for window, acts in zip(windows, activities, strict=True):
        window["activities"] = acts
        window["features"] = features[start : start + len(acts)]
        window["signals"] = similarity.pair_signals(window["features"])
        window["project"] = window["window_id"].split("/")[0]
        start += len(acts)
    return windows


CENTRED = True


def pairs(windows: Sequence[dict[str, Any]], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for w in windows:
        n = len(w["activities"])
        if n < 2:
            continue
        upper = np.triu_indices(n, 1)
        labels = np.array([w["truth"][a.id] for a in w["activities"]])
        x = np.stack([w["signals"][name][upper] for name in names], axis=1)
        # the dev windows all have at least MIN_PAIRS pairs, so no filling up is needed here
        xs.append(x - x.mean(axis=0) if CENTRED else x)
        ys.append((labels[:, None] == labels[None, :])[upper])
    return np.concatenate(xs), np.concatenate(ys).astype(np.float64)


Model = tuple[dict[str, float], float, float]
# the fragment model's weights and bias; None scores the pair model alone
FragmentModel = tuple[dict[str, float], float] | None


def logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, l2: float = L2) -> np.ndarray:
    """Weights then bias of a logistic regression of `y` (in [0, 1]) on `x` (Newton's method, light
    L2 on the weights); `weight` counts each row (1 each when None)."""
    weight = np.ones(len(y)) if weight is None else weight / weight.mean()
    x = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (weight * (p - y)) + l2 * np.r_[beta[:-1], 0.0] * len(y) / 1000
        curvature = weight * p * (1 - p)
        hessian = (x * curvature[:, None]).T @ x + np.diag(np.r_[np.full(x.shape[1] - 1, l2 * len(y) / 1000), 0.0])
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def fit(windows: Sequence[dict[str, Any]], names: Sequence[str]) -> Model:
    x, y = pairs(windows, names)
    beta = logistic(x, y)
    weights = dict(zip(names, beta[:-1].tolist(), strict=True))
    return weights, float(beta[-1]), typical_offset(windows, weights)


def fit_fragments(windows: Sequence[dict[str, Any]], model: Model) -> FragmentModel:
    """The fragment model fitted on the groups `model` makes of `windows`: one row per pair of
    groups the step may merge, its target the share of same-work item pairs between them."""
    names = list(fragments._WEIGHTS)
    xs, ys, counts = [], [], []
    for w in windows:
        for probability, groups, fixed, apart, terms in first_groups(w, model):
            state = fragments.FragmentState(probability, groups, w["features"], fixed, apart, terms)
            labels = np.array([w["truth"][a.id] for a in w["activities"]])
            upper = np.triu_indices(len(groups), 1)
            allowed = ~state.blocked()[upper]
            signals = np.stack([state.signal(name)[upper][allowed] for name in names], axis=1)
            for (a, b), row in zip(np.transpose(upper)[allowed], signals, strict=True):
                same = (labels[groups[a]][:, None] == labels[groups[b]][None, :]).mean()
                xs.append(row)
                ys.append(same)
                counts.append(len(groups[a]) * len(groups[b]))
    beta = logistic(np.array(xs), np.array(ys), np.array(counts, dtype=np.float64), FRAGMENT_L2)
    return dict(zip(names, beta[:-1].tolist(), strict=True)), float(beta[-1])


def first_groups(window: dict[str, Any], model: Model) -> list[tuple[Any, list[list[int]], Any, Any, Any]]:
    """What the fragment step is given for `window` under the pair model `model` (nothing for a
    window the step leaves alone)."""
    given: list[tuple[Any, list[list[int]], Any, Any, Any]] = []

    def capture(probability: Any, groups: list[list[int]], features: Any, *, fixed: Any, apart: Any, terms: Any) -> Any:
        if len(groups) > 1 and any(f.activity.kind == "ticket" for f in features):
            given.append((probability, groups, fixed, apart, terms))
        return groups

    saved = cluster.merge_fragments
    cluster.merge_fragments = capture
    try:
        with declared_as(model, None):
            cluster_week(window["activities"], features=window["features"])
    finally:
        cluster.merge_fragments = saved
    return given


def typical_offset(windows: Sequence[dict[str, Any]], weights: dict[str, float]) -> float:
    """The mean over windows of the weighted signals' mean over the window's pairs."""
    offsets = []
    for w in windows:
        n = len(w["activities"])
        if n >= 2:
            upper = np.triu_indices(n, 1)
            offsets.append(sum(weight * w["signals"][name][upper].mean() for name, weight in weights.items()))
    return float(np.mean(offsets)) if CENTRED else 0.0


def ari(truth: list[str], predicted: list[int]) -> float:
    spec = importlib.util.spec_from_file_location("score", EVAL_DIR / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return float(module.ari(truth, [str(p) for p in predicted]))


class declared_as:
    """Declares a pair model and a fragment model (None: the fragment step merges nothing) for
    the duration of a `with` block."""

    def __init__(self, model: Model, fragment_model: FragmentModel) -> None:
        self.model, self.fragment_model = model, fragment_model

    def __enter__(self) -> None:
        self.saved = (dict(similarity._WEIGHTS), similarity.BIAS, similarity.TYPICAL_OFFSET,
                      dict(fragments._WEIGHTS), fragments.BIAS)  # fmt: skip
        weights, bias, typical = self.model
        similarity._WEIGHTS.update(weights)
        similarity.BIAS, similarity.TYPICAL_OFFSET = bias, typical
        if self.fragment_model is None:
            fragments.BIAS = -np.inf
        else:
            fragments._WEIGHTS.update(self.fragment_model[0])
            fragments.BIAS = self.fragment_model[1]

    def __exit__(self, *exc: object) -> None:
        similarity._WEIGHTS.update(self.saved[0])
        similarity.BIAS, similarity.TYPICAL_OFFSET = self.saved[1], self.saved[2]
        fragments._WEIGHTS.update(self.saved[3])
        fragments.BIAS = self.saved[4]


def evaluate(windows: Sequence[dict[str, Any]], model: Model, fragment_model: FragmentModel) -> str:
    aris, tp, fp, fn = [], 0, 0, 0
    with declared_as(model, fragment_model):
        for w in windows:
            where = {}
            for number, candidate in enumerate(cluster_week(w["activities"], features=w["features"])):
                for activity_id in candidate.activity_ids:
                    where[activity_id] = number
            truth = [w["truth"][a.id] for a in w["activities"]]
            predicted = [where[a.id] for a in w["activities"]]
            aris.append(ari(truth, predicted))
            t = np.array(truth)
            p = np.array(predicted)
            upper = np.triu_indices(len(t), 1)
            same_t = (t[:, None] == t[None, :])[upper]
            same_p = (p[:, None] == p[None, :])[upper]
            tp += int((same_t & same_p).sum())
            fp += int((~same_t & same_p).sum())
            fn += int((same_t & ~same_p).sum())
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return f"ARI {np.mean(aris):.3f}  P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}"


def show(model: Model, fragment_model: FragmentModel) -> str:
    weights, bias, typical = model
    text = (
        "  ".join(f"{name} {value:+.2f}" for name, value in weights.items())
        + f"  bias {bias:+.2f}  typical {typical:.2f}"
    )
    if fragment_model is not None:
        text += "\n                  fragments: " + "  ".join(
            f"{name} {value:+.2f}" for name, value in fragment_model[0].items()
        )
        text += f"  bias {fragment_model[1]:+.2f}"
    return text


def author_half(window: dict[str, Any]) -> int:
    """A fixed split of the authors in two (a hash of the name, so it does not depend on order)."""
    return zlib.crc32(window["author"].encode()) % 2


EVAL_DIR = REPO.parent / "shared" / "eval"


def main() -> None:
    global EVAL_DIR, CENTRED
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--pipeline", choices=["blank", "trained"], default="blank")
    parser.add_argument("--no-centring", action="store_true", help="fit and score the raw signals")
    parser.add_argument("--no-fragments", action="store_true", help="fit and score the pair model alone")
    args = parser.parse_args()
    EVAL_DIR = args.eval_dir
    if args.no_centring:
        CENTRED = False
        similarity.window_offset = lambda raw: 0.0
    windows = load(args.eval_dir, None if args.pipeline == "blank" else "en_core_web_sm")
    names = list(similarity._WEIGHTS)
    declared = dict(similarity._WEIGHTS), similarity.BIAS, similarity.TYPICAL_OFFSET
    declared_fragments = None if args.no_fragments else (dict(fragments._WEIGHTS), fragments.BIAS)

    def both_fitted(part: Sequence[dict[str, Any]]) -> tuple[Model, FragmentModel]:
        model = fit(part, names)
        return model, None if args.no_fragments else fit_fragments(part, model)

    if CENTRED:
        print(f"declared          {show(declared, declared_fragments)}")
        print(f"                  {evaluate(windows, declared, declared_fragments)}")
    model, fragment_model = both_fitted(windows)
    print(f"fitted on both    {show(model, fragment_model)}")
    print(f"                  {evaluate(windows, model, fragment_model)}")
    projects = sorted({w["project"] for w in windows})
    for train in projects:
        for test in projects:
            if test != train:
                fitted = both_fitted([w for w in windows if w["project"] == train])
                print(f"fit {train} -> {test}: {evaluate([w for w in windows if w['project'] == test], *fitted)}")
    for half in (0, 1):
        fitted = both_fitted([w for w in windows if author_half(w) == half])
        scored = evaluate([w for w in windows if author_half(w) != half], *fitted)
        print(f"fit authors {half} -> authors {1 - half}: {scored}")
    if CENTRED:
        for project in projects:
            part = [w for w in windows if w["project"] == project]
            print(f"declared on {project}: {evaluate(part, declared, declared_fragments)}")


if __name__ == "__main__":
    main()
