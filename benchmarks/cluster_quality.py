"""Grouping quality of `brag cluster --batches` on the shared dev sets, for both pipelines.

    python benchmarks/cluster_quality.py [--eval-dir ../shared/eval]

Converts each eval window to a batch line, runs the command in-process, and scores the
predictions with the eval set's own score.py (ARI, pairwise P/R/F1).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harvester.cli.cluster_records import run_cluster_command  # noqa: E402

PIPELINES = {"trained": "en_core_web_sm", "blank": None}


def batches_input(eval_file: Path) -> str:
    lines = []
    with eval_file.open() as f:
        for line in f:
            if line.strip():
                window = json.loads(line)
                lines.append(json.dumps({"batch_id": window["window_id"], "activities": window["items"]}))
    return "\n".join(lines) + "\n"


def score(eval_dir: Path, eval_name: str, model: str | None) -> str:
    source = io.StringIO(batches_input(eval_dir / eval_name))
    out, err = io.StringIO(), io.StringIO()
    code = run_cluster_command(source, out, err, batches=True, model=model)
    if code != 0:
        raise SystemExit(f"brag cluster failed ({code}): {err.getvalue()[:500]}")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as predictions:
        predictions.write(out.getvalue())
    result = subprocess.run(
        [sys.executable, str(eval_dir / "score.py"), str(eval_dir / eval_name), predictions.name],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(predictions.name).unlink()
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--pipeline", choices=[*PIPELINES, "both"], default="both")
    args = parser.parse_args()
    names = list(PIPELINES) if args.pipeline == "both" else [args.pipeline]
    for name in names:
        for eval_name in ("dev_stripped.jsonl", "dev.jsonl"):
            print(f"{name:8} {eval_name:20} {score(args.eval_dir, eval_name, PIPELINES[name])}", flush=True)


if __name__ == "__main__":
    main()
