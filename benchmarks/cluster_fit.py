"""Fitting the similarity model's weights on the stripped dev set, and checking they generalize.

    python benchmarks/cluster_fit.py [--eval-dir ../shared/eval] [--pipeline blank|trained] [--no-centring]

Fits a logistic regression (Newton's method, light L2) of "same Jira issue" on the pair signals
of every pair inside every window, each signal centred on its mean over the window's pairs (as
`similarity.pair_probabilities` scores them), then scores the whole clustering step with: the
declared weights, weights fitted on both projects, weights fitted on one project scored on the
other, and weights fitted on half of the authors scored on the other half (the checks that they
transfer; the held-out set has other projects and people). `--no-centring` fits and scores the
raw signals instead (the model before window centring).
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

from harvester.clustering import cluster_week, extract_features, load_pipeline, similarity  # noqa: E402
from harvester.records import Activity  # noqa: E402

L2 = 1e-2


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


def fit(windows: Sequence[dict[str, Any]], names: Sequence[str]) -> Model:
    x, y = pairs(windows, names)
    x = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (p - y) + L2 * np.r_[beta[:-1], 0.0] * len(y) / 1000
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(np.r_[np.full(len(names), L2 * len(y) / 1000), 0.0])
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = dict(zip(names, beta[:-1].tolist(), strict=True))
    return weights, float(beta[-1]), typical_offset(windows, weights)


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


def evaluate(windows: Sequence[dict[str, Any]], model: Model) -> str:
    weights, bias, typical = model
    saved = dict(similarity._WEIGHTS), similarity.BIAS, similarity.TYPICAL_OFFSET
    similarity._WEIGHTS.clear()
    similarity._WEIGHTS.update(weights)
    similarity.BIAS = bias
    similarity.TYPICAL_OFFSET = typical
    try:
        aris, tp, fp, fn = [], 0, 0, 0
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
    finally:
        similarity._WEIGHTS.clear()
        similarity._WEIGHTS.update(saved[0])
        similarity.BIAS = saved[1]
        similarity.TYPICAL_OFFSET = saved[2]
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return f"ARI {np.mean(aris):.3f}  P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}"


def show(model: Model) -> str:
    weights, bias, typical = model
    return (
        "  ".join(f"{name} {value:+.2f}" for name, value in weights.items())
        + f"  bias {bias:+.2f}  typical {typical:.2f}"
    )


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
    args = parser.parse_args()
    EVAL_DIR = args.eval_dir
    if args.no_centring:
        CENTRED = False
        similarity.window_offset = lambda raw: 0.0
    windows = load(args.eval_dir, None if args.pipeline == "blank" else "en_core_web_sm")
    names = list(similarity._WEIGHTS)
    declared = dict(similarity._WEIGHTS), similarity.BIAS, similarity.TYPICAL_OFFSET
    if CENTRED:
        print(f"declared          {show(declared)}")
        print(f"                  {evaluate(windows, declared)}")
    model = fit(windows, names)
    print(f"fitted on both    {show(model)}")
    print(f"                  {evaluate(windows, model)}")
    projects = sorted({w["project"] for w in windows})
    for train in projects:
        for test in projects:
            if test != train:
                model = fit([w for w in windows if w["project"] == train], names)
                print(f"fit {train} -> {test}: {evaluate([w for w in windows if w['project'] == test], model)}")
    for half in (0, 1):
        model = fit([w for w in windows if author_half(w) == half], names)
        scored = evaluate([w for w in windows if author_half(w) != half], model)
        print(f"fit authors {half} -> authors {1 - half}: {scored}")
    if CENTRED:
        for project in projects:
            print(f"declared on {project}: {evaluate([w for w in windows if w['project'] == project], declared)}")


if __name__ == "__main__":
    main()
