"""What every request benchmark starts from: a fresh SQLite store and a sync runner for one user."""

from __future__ import annotations

from pathlib import Path

from harvester.store import repository
from harvester.store.engine import open_store
from harvester.sync import SyncRunner


def fresh_runner(database: Path) -> SyncRunner:
    sessions = open_store(f"sqlite:///{database}")
    with sessions.begin() as session:
        user_id = repository.get_or_create_user(session, "bench").id
    return SyncRunner(sessions, user_id)
