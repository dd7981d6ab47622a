from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connectors.github.connector import GitHubConnector
from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.sandbox.scenario import Scenario
from harvester.store import repository
from harvester.store.engine import open_store

# requests honours HTTP(S)_PROXY; the sandboxes are on loopback
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from support import NOW, fresh_postgres_database


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.generate(NOW, weeks=4)


@pytest.fixture
def github(scenario: Scenario) -> Iterator[GitHubSandbox]:
    with GitHubSandbox(scenario) as server:
        yield server


@pytest.fixture
def connector(github: GitHubSandbox) -> GitHubConnector:
    return GitHubConnector(DEFAULT_TOKEN, base_url=github.base_url, max_rate_limit_wait=5)


def database_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("BRAG_TEST_POSTGRES_URL"):
        urls.append("postgresql")
    return urls


@pytest.fixture(params=database_urls())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: SQLite always, PostgreSQL too when BRAG_TEST_POSTGRES_URL is set (CI)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brag.db'}"
        return
    yield from fresh_postgres_database(os.environ["BRAG_TEST_POSTGRES_URL"])


@pytest.fixture
def team_database() -> Iterator[str]:
    """A fresh PostgreSQL database for team mode, which runs on PostgreSQL only; skipped without one."""
    admin = os.environ.get("BRAG_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip(
            "team mode runs on PostgreSQL only: set BRAG_TEST_POSTGRES_URL to an admin URL such as "
            "postgresql+psycopg://postgres:brag-ci@127.0.0.1:5432/postgres"
        )
    yield from fresh_postgres_database(admin)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return open_store(database_url)


@pytest.fixture
def user_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return repository.get_or_create_user(session, "me", "Europe/Berlin").id
