"""Both public JSON shapes of a candidate, key for key and in order: `brag candidates` and `brag cluster`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_support import config_file, open_context, seed
from typer.testing import CliRunner

from harvester.clustering.model import Candidate, Metric, Reviewed, candidate_json
from harvester.review import ReviewService

STORED = ["id", "week", "state", "title", "summary", "section", "why", "impact", "metrics", "activity_ids", "project"]
CLUSTERED = ["id", "title", "summary", "activity_ids", "metrics", "section", "why"]


def test_cluster_shape_is_unchanged() -> None:
    metric = Metric("percent", "4% to 1%", "a", "body", 0, 8, "%", 1.0, 4.0, 1.0)
    candidate = Candidate("c-1", "Retried payments", "2 PRs", ("a", "b"), (metric,), "Projects", "same ticket PAY-1")
    assert candidate.to_json() == {
        "id": "c-1",
        "title": "Retried payments",
        "summary": "2 PRs",
        "activity_ids": ["a", "b"],
        "metrics": [metric.to_json()],
        "section": "Projects",
        "why": "same ticket PAY-1",
    }
    assert list(candidate.to_json()) == CLUSTERED


def test_stored_shape_adds_week_state_and_impact() -> None:
    shaped = candidate_json("c-1", "T", "S", "Projects", "why", [], ("a",), Reviewed("2026-W46", "approved", None))
    assert list(shaped) == STORED
    assert (shaped["week"], shaped["state"], shaped["impact"], shaped["activity_ids"]) == (
        "2026-W46",
        "approved",
        None,
        ["a"],
    )


def test_brag_candidates_json_keys_in_order(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from harvester.cli import app

    monkeypatch.delenv("BRAG_CONFIG", raising=False)
    context = open_context(database_url)
    seeded = seed(context.sessions, context.user_id)
    with context.sessions.begin() as session:
        ReviewService(session, context.user_id).approve(seeded.payments, impact="Failures down to 1%")
    config = str(config_file(tmp_path, database_url))
    result = CliRunner().invoke(app, ["--config", config, "candidates", "--week", "2026-W46", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["candidates"]
    assert listed and all(list(candidate) == STORED for candidate in listed)
    (payments,) = [c for c in listed if c["id"] == seeded.payments]
    assert (payments["state"], payments["impact"], payments["week"]) == ("approved", "Failures down to 1%", "2026-W46")
    assert payments["activity_ids"] == ["jira:PAY-12", "github:acme/shop#101", "github:acme/shop#102"]
    # no item of the seeded week belongs to an epic
    assert all(candidate["project"] is None for candidate in listed)
