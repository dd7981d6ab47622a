"""`brag cluster FILE` without batches clusters each ISO week of the records as its own window."""

from __future__ import annotations

import io
import json
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from conftest import act
from spacy.language import Language

from harvester.cli.cluster_records import run_cluster_command
from harvester.records import Activity


def cluster_records(records: list[Activity], zone: tzinfo = UTC) -> tuple[int, dict[str, list[dict[str, object]]]]:
    out, err = io.StringIO(), io.StringIO()
    text = "".join(json.dumps(r.to_json()) + "\n" for r in records)
    code = run_cluster_command(io.StringIO(text), out, err, batches=False, model=None, zone=zone)
    [line] = out.getvalue().splitlines()
    return code, json.loads(line)


def retry_commits(*hours: float) -> list[Activity]:
    return [
        act(f"c{n}", "commit", "Retry failed payment webhooks with backoff", hours=h, repo="octo/api",
            paths=("api/webhooks/retry.py",))
        for n, h in enumerate(hours)
    ]  # fmt: skip


def members(output: dict[str, list[dict[str, object]]]) -> list[set[object]]:
    return [set(c["activity_ids"]) for c in output["candidates"]]  # type: ignore[call-overload]


def test_the_same_work_in_two_weeks_is_two_candidates(blank_nlp: Language) -> None:
    # the builder's Monday 09:00 plus a week and a day
    code, output = cluster_records(retry_commits(0, 2, 24 * 8))
    assert code == 0
    assert members(output) == [{"c0", "c1"}, {"c2"}]
    assert set(output) == {"candidates", "left_out"}


def test_weeks_begin_on_the_users_monday(blank_nlp: Language) -> None:
    # Sunday 23:30 and Monday 00:30 UTC are one Sunday evening in New York
    records = retry_commits(-9.5, -8.5)
    assert members(cluster_records(records)[1]) == [{"c0"}, {"c1"}]
    assert members(cluster_records(records, ZoneInfo("America/New_York"))[1]) == [{"c0", "c1"}]


def test_a_record_repeated_in_another_week_counts_once(blank_nlp: Language) -> None:
    first, again = retry_commits(0, 24 * 8)
    repeated = Activity.from_json({**again.to_json(), "id": first.id})
    assert members(cluster_records([first, repeated])[1]) == [{"c0"}]
