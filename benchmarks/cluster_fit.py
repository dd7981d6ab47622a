"""Fitting the similarity model's weights on the stripped dev set, and checking they generalize.

    python benchmarks/cluster_fit.py [--eval-dir ../shared/eval] [--pipeline blank|trained]

Fits a logistic regression (Newton's method, light L2) of "same Jira issue" on the pair signals
of every pair inside every window, then scores the whole clustering step with: the declared
weights, weights fitted on both projects, and weights fitted on one project scored on the other
(the check that they transfer; the held-out set has other projects and people).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
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


def pairs(windows: Sequence[dict[str, Any]], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for w in windows:
        n = len(w["activities"])
        if n < 2:
            continue
        upper = np.triu_indices(n, 1)
        labels = np.array([w["truth"][a.id] for a in w["activities"]])
        xs.append(np.stack([w["signals"][name][upper] for name in names], axis=1))
        ys.append((labels[:, None] == labels[None, :])[upper])
    return np.concatenate(xs), np.concatenate(ys).astype(np.float64)


def fit(windows: Sequence[dict[str, Any]], names: Sequence[str]) -> tuple[dict[str, float], float]:
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
    return dict(zip(names, beta[:-1].tolist(), strict=True)), float(beta[-1])


def ari(truth: list[str], predicted: list[int]) -> float:
    spec = importlib.util.spec_from_file_location("score", EVAL_DIR / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return float(module.ari(truth, [str(p) for p in predicted]))


def evaluate(windows: Sequence[dict[str, Any]], weights: dict[str, float], bias: float) -> str:
    saved = dict(similarity._WEIGHTS), similarity.BIAS
    similarity._WEIGHTS.clear()
    similarity._WEIGHTS.update(weights)
    similarity.BIAS = bias
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
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return f"ARI {np.mean(aris):.3f}  P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}"


def show(weights: dict[str, float], bias: float) -> str:
    return "  ".join(f"{name} {value:+.2f}" for name, value in weights.items()) + f"  bias {bias:+.2f}"


EVAL_DIR = REPO.parent / "shared" / "eval"


def main() -> None:
    global EVAL_DIR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--pipeline", choices=["blank", "trained"], default="blank")
    args = parser.parse_args()
    EVAL_DIR = args.eval_dir
    windows = load(args.eval_dir, None if args.pipeline == "blank" else "en_core_web_sm")
    names = list(similarity._WEIGHTS)
    print(f"declared          {show(dict(similarity._WEIGHTS), similarity.BIAS)}")
    print(f"                  {evaluate(windows, dict(similarity._WEIGHTS), similarity.BIAS)}")
    weights, bias = fit(windows, names)
    print(f"fitted on both    {show(weights, bias)}")
    print(f"                  {evaluate(windows, weights, bias)}")
    projects = sorted({w["project"] for w in windows})
    for train in projects:
        for test in projects:
            if test != train:
                weights, bias = fit([w for w in windows if w["project"] == train], names)
                scored = evaluate([w for w in windows if w["project"] == test], weights, bias)
                print(f"fit {train} -> {test}: {scored}")
        own = [w for w in windows if w["project"] == train]
        print(f"declared on {train}: {evaluate(own, dict(similarity._WEIGHTS), similarity.BIAS)}")


if __name__ == "__main__":
    main()
