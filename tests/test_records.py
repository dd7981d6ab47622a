"""The activity record's public JSON: fields added later are extra keys, and older records still read."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from harvester.records import MAX_TITLE, Activity, bounded
from harvester.store.repository import content_hash

REVIEW = Activity(
    id="github:review:acme/api#7:1",
    source="github",
    kind="review",
    title="Reviewed: Refactor invoice PDF rendering",
    occurred_at=datetime(2026, 11, 16, 9, 30, tzinfo=UTC),
    url="https://github.com/acme/api/pull/7#pullrequestreview-1",
    subject_title="Refactor invoice PDF rendering",
    subject_url="https://github.com/acme/api/pull/7",
)


def test_the_subject_round_trips_as_additional_keys() -> None:
    data = REVIEW.to_json()
    assert data["subject_title"] == "Refactor invoice PDF rendering"
    assert data["subject_url"] == "https://github.com/acme/api/pull/7"
    assert Activity.from_json(data) == REVIEW


def test_a_record_written_before_the_subject_existed_still_reads() -> None:
    older = {k: v for k, v in REVIEW.to_json().items() if not k.startswith("subject_")}
    record = Activity.from_json(older)
    assert (record.subject_title, record.subject_url) == ("", "")
    assert record.title == REVIEW.title


def test_an_unset_subject_leaves_the_stored_content_hash_as_it_was() -> None:
    # the hash every row stored before the subject fields existed was computed with
    plain = Activity(id="jira:PAY-1", source="jira", kind="ticket", title="T", occurred_at=REVIEW.occurred_at)
    before = {k: v for k, v in plain.to_json().items() if not k.startswith("subject_")}
    canonical = json.dumps(before, sort_keys=True, ensure_ascii=False, default=str)
    assert content_hash(plain) == hashlib.sha256(canonical.encode()).hexdigest()
    assert content_hash(REVIEW) != content_hash(Activity.from_json({**REVIEW.to_json(), "subject_title": ""}))


def test_the_subject_is_bounded_like_the_title() -> None:
    huge = bounded(Activity.from_json({**REVIEW.to_json(), "subject_title": "x" * (MAX_TITLE * 3)}))
    assert len(huge.subject_title) == MAX_TITLE
