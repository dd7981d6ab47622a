"""The labelled weeks of benchmarks/digest_noise.py are activity records, each with a known label."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

from harvester.records import Activity
from harvester.timeutil import iso_week_label

WEEKS = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "weeks"
LABELS = {"work", "review", "rollup-meeting", "noise"}


def test_every_labelled_week_is_one_iso_week_of_all_three_sources_with_every_label() -> None:
    files = sorted(WEEKS.glob("*.jsonl"))
    assert len(files) >= 5
    for path in files:
        raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        activities = [Activity.from_json(record) for record in raw]
        assert {record["label"] for record in raw} == LABELS, path.name
        assert {a.source for a in activities} == {"github", "jira", "google_calendar"}, path.name
        # the file is named after its week: NAME-2026-W40.jsonl
        (week,) = {iso_week_label(a.occurred_at, UTC) for a in activities}
        assert path.stem.endswith(week), path.name
