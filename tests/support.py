"""Constants shared by the tests (conftest.py holds the fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
