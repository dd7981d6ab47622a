"""`brag cluster`: activity records in, candidate accomplishments out, as JSON lines.

Without batches the input is JSONL activity records and the output one object `{"candidates":
[...], "left_out": [...]}`: the records are split into ISO weeks (in the user's time zone, UTC by
default) and each week is clustered as its own window, as the store does, so an export of a year
is a year of weeks rather than one giant window; the candidates come week by week, oldest first.
The object stays one object: a line per week would change the shape this command has always
written. A record whose id came earlier is dropped, as within a window. With batches each input line is `{"batch_id",
"activities": [...]}` and each output line `{"batch_id", "candidates": [...], "left_out": [...]}`, in
input order. `left_out` lists the items set aside as no accomplishment (a 1:1, a stand-up on its
own), each `{"activity_id", "rule", "why"}`; every other item is in exactly one candidate. A malformed line is reported
on `err` as "line N: ..." and skipped; the exit code is 0 when every line was fine, 1 when some
failed, 2 when none could be read (and then nothing is written to `out`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, tzinfo
from typing import Any, TextIO

from harvester.clustering import Candidate, cluster_week, extract_features, load_pipeline
from harvester.clustering.setaside import set_aside
from harvester.records import Activity, RecordError
from harvester.timeutil import iso_week_label

# windows are small (a week of one person's work); the pipeline runs fastest on a few hundred
# texts at a time, so this many activities' worth of windows are analysed together
CHUNK_ACTIVITIES = 512


def run_cluster_command(
    source: TextIO,
    out: TextIO,
    err: TextIO,
    *,
    batches: bool,
    model: str | None = "en_core_web_sm",
    zone: tzinfo = UTC,
) -> int:
    """Run `brag cluster`; returns the exit code. `zone` says where the records' ISO weeks begin."""
    nlp = load_pipeline(model)
    good = bad = 0
    if not batches:
        activities: list[Activity] = []
        for number, line in _lines(source):
            try:
                activities.append(Activity.from_json(_object(line)))
                good += 1
            except (ValueError, TypeError, RecordError) as exc:
                bad += 1
                err.write(f"line {number}: {exc}\n")
        if bad and not good:
            # nothing readable is an error, not an empty window: stdout stays empty for the pipe
            return 2
        out.write(json.dumps(_weeks(activities, nlp, zone), ensure_ascii=False) + "\n")
        out.flush()
    else:
        pending: list[tuple[str, list[Activity]]] = []
        for number, line in _lines(source):
            try:
                pending.append(_batch(_object(line)))
                good += 1
            except (ValueError, TypeError, RecordError) as exc:
                bad += 1
                err.write(f"line {number}: {exc}\n")
            if sum(len(acts) for _, acts in pending) >= CHUNK_ACTIVITIES:
                _write_batches(pending, nlp, out)
                pending = []
        _write_batches(pending, nlp, out)
    if bad and not good:
        return 2
    return 1 if bad else 0


def _write_batches(pending: list[tuple[str, list[Activity]]], nlp: Any, out: TextIO) -> None:
    features = extract_features(nlp, [a for _, acts in pending for a in acts])
    start = 0
    for batch_id, activities in pending:
        window = features[start : start + len(activities)]
        start += len(activities)
        result = _window(activities, cluster_week(activities, nlp, features=window))
        out.write(json.dumps({"batch_id": batch_id, **result}, ensure_ascii=False) + "\n")
        out.flush()


def _weeks(activities: list[Activity], nlp: Any, zone: tzinfo) -> dict[str, Any]:
    """Each ISO week's records clustered as one window, all weeks' results in one object."""
    first_of: dict[str, Activity] = {}
    for activity in activities:
        first_of.setdefault(activity.id, activity)
    unique = list(first_of.values())
    # the pipeline tags all weeks' titles in one pass, as for batches
    features = extract_features(nlp, unique) if unique else []
    weeks: dict[str, list[int]] = {}
    for position, activity in enumerate(unique):
        weeks.setdefault(iso_week_label(activity.occurred_at, zone), []).append(position)
    result: dict[str, Any] = {"candidates": [], "left_out": []}
    for week in sorted(weeks):
        members = [unique[i] for i in weeks[week]]
        window = _window(members, cluster_week(members, nlp, features=[features[i] for i in weeks[week]]))
        result["candidates"].extend(window["candidates"])
        result["left_out"].extend(window["left_out"])
    return result


def _window(activities: list[Activity], candidates: list[Candidate]) -> dict[str, Any]:
    kept, aside = set_aside(candidates, {a.id: a for a in activities})
    return {"candidates": [c.to_json() for c in kept], "left_out": [a.to_json() for a in aside]}


def _lines(source: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(source, start=1):
        if line.strip():
            yield number, line


def _object(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _batch(data: dict[str, Any]) -> tuple[str, list[Activity]]:
    batch_id = data.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id:
        raise ValueError("missing batch_id")
    items = data.get("activities")
    if not isinstance(items, list):
        raise ValueError("activities must be a list")
    activities = []
    for position, item in enumerate(items, start=1):
        try:
            activities.append(Activity.from_json(item))
        except (RecordError, ValueError, TypeError) as exc:
            raise ValueError(f"activity {position}: {exc}") from exc
    return batch_id, activities
