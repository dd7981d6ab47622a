"""A database that cannot be opened, read or written ends the command with one sentence, not a traceback."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.pool import Pool
from typer.testing import CliRunner, Result

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.cli import app
from harvester.sandbox.scenario import Scenario
from harvester.store.engine import open_store
from harvester.store.models import ActivityRow

runner = CliRunner()

END = datetime(2026, 11, 20, tzinfo=UTC)
START = END - timedelta(days=30)
PULL_REQUESTS = 400


def write_config(tmp_path: Path, url: str, github: GitHubSandbox | None = None) -> str:
    path = tmp_path / "brag.toml"
    text = f'[database]\nurl = "{url}"\n[user]\ntimezone = "UTC"\n'
    if github is not None:
        text += f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{github.base_url}"\nreviews = false\n'
    path.write_text(text)
    return str(path)


def brag(config: str, *args: str) -> Result:
    return runner.invoke(app, ["--config", config, *args])


def assert_one_line(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    message = " ".join(lines)
    assert lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in message, result.stderr


@pytest.fixture
def github() -> Iterator[GitHubSandbox]:
    server = GitHubSandbox(Scenario.bulk(PULL_REQUESTS, START, END))
    with server:
        yield server


@pytest.fixture
def harvested(tmp_path: Path, github: GitHubSandbox) -> tuple[str, Path]:
    """A configuration and the SQLite file of a finished harvest of 400 pull requests."""
    database = tmp_path / "brag.db"
    config = write_config(tmp_path, f"sqlite:///{database}", github)
    result = brag(config, "harvest", "--since", "2026-10-21", "--until", "2026-11-20")
    assert result.exit_code == 0, result.output
    return config, database


@pytest.mark.parametrize("command", ["activities", "candidates"])
def test_truncated_database_is_named_not_a_traceback(harvested: tuple[str, Path], command: str) -> None:
    config, database = harvested
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 2])
    assert_one_line(brag(config, command), str(database), "damaged", "database disk image is malformed")


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    database = tmp_path / "brag.db"
    database.write_bytes(b"this is a text file, not SQLite\n" * 200)
    config = write_config(tmp_path, f"sqlite:///{database}")
    assert_one_line(brag(config, "candidates"), str(database), "file is not a database", "restore it from a backup")


def test_database_from_a_newer_brag(tmp_path: Path) -> None:
    database = tmp_path / "brag.db"
    open_store(f"sqlite:///{database}")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    config = write_config(tmp_path, f"sqlite:///{database}")
    assert_one_line(
        brag(config, "activities"), str(database), "this database was written by a newer brag (schema 0099", "upgrade"
    )


def test_read_only_database_is_not_a_configuration_error(harvested: tuple[str, Path], github: GitHubSandbox) -> None:
    _config, database = harvested
    # mode=ro is SQLite refusing writes the way a read-only file does (as root, chmod would not)
    config = write_config(database.parent, f"sqlite:///file:{database}?mode=ro&uri=true", github)
    result = brag(config, "harvest")
    assert_one_line(result, str(database), "cannot write the database: attempt to write a readonly database")
    assert "configuration" not in result.output


@contextmanager
def disk_full_after(database: Path, extra_pages: int) -> Iterator[None]:
    """The file may grow by `extra_pages` pages, then SQLite answers "database or disk is full"."""
    with sqlite3.connect(database) as connection:
        limit = connection.execute("PRAGMA page_count").fetchone()[0] + extra_pages

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={limit}")

    event.listen(Pool, "connect", cap)
    try:
        yield
    finally:
        event.remove(Pool, "connect", cap)


def test_disk_full_mid_harvest_says_so_and_the_next_harvest_duplicates_nothing(
    tmp_path: Path, github: GitHubSandbox
) -> None:
    database = tmp_path / "brag.db"
    sessions = open_store(f"sqlite:///{database}")
    sessions.kw["bind"].dispose()
    config = write_config(tmp_path, f"sqlite:///{database}", github)
    args = ("harvest", "--since", "2026-10-21", "--until", "2026-11-20")
    with disk_full_after(database, extra_pages=30):
        full = brag(config, *args)
    assert full.exit_code == 1, full.output
    assert f"{database}: cannot write the database: database or disk is full" in " ".join(full.output.split())
    assert isinstance(full.exception, SystemExit)

    again = brag(config, *args)
    assert again.exit_code == 0, again.output
    with open_store(f"sqlite:///{database}")() as session:
        ids = list(session.scalars(select(ActivityRow.external_id)))
        assert session.scalar(select(func.count()).select_from(ActivityRow)) == PULL_REQUESTS
    assert len(set(ids)) == PULL_REQUESTS


def test_postgres_url_without_the_driver_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an installation without the extra looks like
    config = write_config(tmp_path, "postgresql+psycopg://brag:secret-pw@db.example/brag")
    result = brag(config, "activities")
    assert_one_line(
        result,
        "needs the psycopg driver, which is not installed",
        "pip install 'brag-harvester[postgres]'",
        "[database] url",
    )
    assert "secret-pw" not in result.output
