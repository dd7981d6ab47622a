"""First-use migrations are atomic and serialised: a kill part-way, a full disk, or four processes at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.pool import Pool

from harvester.errors import StoreError
from harvester.sources import SINGLE_STREAM
from harvester.store import repository
from harvester.store.engine import SCHEMA_HEAD, _alembic_config, _migration_transaction, create_db_engine, open_store
from harvester.store.models import Base, UTCDateTime

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

HEAD = ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_the_declared_schema_head_is_the_newest_migration() -> None:
    # a store at SCHEMA_HEAD opens without alembic: a stale constant would skip a migration
    assert SCHEMA_HEAD == HEAD


def test_a_store_at_the_newest_schema_opens_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brag.db'}"
    open_store(url)
    probe = f"import sys; from harvester.store.engine import open_store; open_store({url!r}); print(*sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert "harvester.store.engine" in loaded
    assert "alembic" not in loaded


# a process that opens the store, touching `<marker>` when it is about to run `signal_at` and, with
# --hold, waiting there until `<marker>.go` exists (a step of the migration that never finishes on its own)
OPENER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from harvester.store.engine import open_store

    url, signal_at, marker, hold = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "hold"

    @event.listens_for(Engine, "before_cursor_execute")
    def pause(conn, cursor, statement, *rest):
        if statement.lstrip().startswith(signal_at):
            marker.touch()
            while hold and not Path(f"{marker}.go").exists():
                time.sleep(0.02)

    open_store(url)
    """
)
DEADLINE_SECONDS = 60


SPAWNED: list[subprocess.Popen[bytes]] = []


def opener(url: str, signal_at: str, marker: Path, *, hold: bool) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", OPENER, url, signal_at, str(marker), "hold" if hold else "go"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    SPAWNED.append(process)
    return process


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """A failing test must not leave an opener holding a lock on the next test's database."""
    yield
    while SPAWNED:
        process = SPAWNED.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def lock_statement(url: str) -> str:
    return "SELECT pg_advisory_xact_lock" if url.startswith("postgresql") else "BEGIN IMMEDIATE"


def assert_at_head(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
            assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "step",
    [
        pytest.param("CREATE TABLE activities", id="after-the-first-table"),
        pytest.param("CREATE TABLE digests", id="in-a-later-revision"),
    ],
)
def test_killed_mid_migration_then_opens_cleanly(database_url: str, tmp_path: Path, step: str) -> None:
    marker = tmp_path / "in-migration"
    process = opener(database_url, step, marker, hold=True)
    wait_until(lambda: marker.exists() or process.poll() is not None, "the migration step")
    assert process.poll() is None, process.communicate()[1].decode()
    process.send_signal(signal.SIGKILL)
    process.wait()

    sessions = open_store(database_url)
    with sessions.begin() as session:
        assert repository.get_or_create_user(session, "me").id
    assert_at_head(database_url)


def test_four_processes_on_first_use_wait_for_the_first(database_url: str, tmp_path: Path) -> None:
    first_marker = tmp_path / "first"
    first = opener(database_url, "CREATE TABLE activities", first_marker, hold=True)
    wait_until(lambda: first_marker.exists() or first.poll() is not None, "the first migration to start")
    others = {tmp_path / f"other-{n}": None for n in range(3)}
    processes = [opener(database_url, lock_statement(database_url), marker, hold=False) for marker in others]
    # each of the others either reaches the lock (and waits there) or has already given up
    for marker, process in zip(others, processes, strict=True):
        wait_until(lambda m=marker, p=process: m.exists() or p.poll() is not None, f"{marker.name} to reach the lock")
    Path(f"{first_marker}.go").touch()

    for process in [first, *processes]:
        _out, err = process.communicate(timeout=DEADLINE_SECONDS)
        assert process.returncode == 0, err.decode()
    assert_at_head(database_url)


@contextmanager
def small_disk() -> Iterator[None]:
    """New SQLite files may grow to 20 pages: SQLite's own "database or disk is full" when one tries more."""

    def limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA max_page_count=20")

    event.listen(Pool, "connect", limit)
    try:
        yield
    finally:
        event.remove(Pool, "connect", limit)


def test_disk_full_during_first_use_leaves_nothing_half_done(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brag.db'}"
    with (
        small_disk(),
        pytest.raises(StoreError, match=r"brag\.db: cannot write the database: database or disk is full"),
    ):
        open_store(url)
    open_store(url)
    assert_at_head(url)


def half_made(path: Path, *statements: str) -> str:
    """A database holding only the users table (an old-style interrupted first use), then `statements`."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        Base.metadata.tables["users"].create(connection)
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()
    return url


def test_opens_a_database_an_interrupted_first_use_left_half_made(tmp_path: Path) -> None:
    """Before migrations were atomic, a kill left some of the first revision's tables, empty, and no version."""
    url = half_made(tmp_path / "brag.db", "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    open_store(url)
    assert_at_head(url)


def test_refuses_brag_tables_with_data_but_no_version(tmp_path: Path) -> None:
    url = half_made(tmp_path / "brag.db", "INSERT INTO users (name, created_at) VALUES ('me', '2026-11-20')")
    with pytest.raises(StoreError, match="holds brag's tables \\(users\\) but no schema version"):
        open_store(url)


OLD_CURSORS = sa.table(
    "sync_cursors",
    sa.column("user_id", sa.Integer()),
    sa.column("source", sa.String()),
    # read back aware on sqlite too, as the models do
    sa.column("harvested_until", UTCDateTime()),
    sa.column("state", sa.JSON()),
    sa.column("updated_at", UTCDateTime()),
)
TEAM = "team@group.calendar.google.com"
GITHUB_AT = datetime(2026, 11, 13, 12, tzinfo=UTC)
SEEDED_AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
CALENDAR_AT = datetime(2026, 11, 14, 9, tzinfo=UTC)
PRIMARY_STATE: dict[str, Any] = {
    "sync_token": "tok-primary",
    "time_min": "2026-10-01T00:00:00+00:00",
    "horizon": None,
    "pending": {},
}
TEAM_STATE: dict[str, Any] = {
    "sync_token": "tok-team",
    "time_min": "2026-10-01T00:00:00+00:00",
    "horizon": None,
    "pending": {},
}


def migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    """Run alembic to `revision` the way `migrate()` does: one transaction, holding the migration lock."""
    engine = create_db_engine(url)
    try:
        with _migration_transaction(engine) as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def seed_source_cursors(url: str) -> int:
    """A user with cursors as revision 0009 stored them: one per source."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            user_id = connection.scalar(
                text("INSERT INTO users (name, created_at) VALUES ('me', :at) RETURNING id"), {"at": SEEDED_AT}
            )
            rows = [
                ("github", GITHUB_AT, {}),
                ("jira", GITHUB_AT - timedelta(days=1), {}),
                ("google_calendar", CALENDAR_AT, {"calendars": {"primary": PRIMARY_STATE, TEAM: TEAM_STATE}}),
                # a third-party source: its connector implements `harvest`, the runner's SINGLE_STREAM
                ("gitlab", None, {"page": 3}),
            ]
            connection.execute(
                OLD_CURSORS.insert(),
                [
                    {
                        "user_id": user_id,
                        "source": source,
                        "harvested_until": at,
                        "state": state,
                        "updated_at": SEEDED_AT,
                    }
                    for source, at, state in rows
                ],
            )
    finally:
        engine.dispose()
    return int(user_id)


def stream_cursors(url: str, user_id: int) -> dict[tuple[str, str], tuple[datetime | None, dict[str, Any]]]:
    sessions = open_store(url)
    with sessions() as session:
        found = {
            (source, stream): (row.harvested_until, row.state)
            for source in ("github", "jira", "google_calendar", "gitlab")
            for stream, row in repository.load_cursors(session, user_id, source).items()
        }
    sessions.kw["bind"].dispose()
    return found


def test_0010_gives_each_stream_the_cursor_its_source_had(database_url: str) -> None:
    migrate_to(database_url, "0009")
    user_id = seed_source_cursors(database_url)
    migrate_to(database_url, "head")

    assert stream_cursors(database_url, user_id) == {
        # both streams start where the shared checkpoint was
        ("github", "pull_requests"): (GITHUB_AT, {}),
        ("github", "reviews"): (GITHUB_AT, {}),
        ("jira", "tickets"): (GITHUB_AT - timedelta(days=1), {}),
        # each calendar keeps its own sync token
        ("google_calendar", "primary"): (CALENDAR_AT, PRIMARY_STATE),
        ("google_calendar", TEAM): (CALENDAR_AT, TEAM_STATE),
        ("gitlab", SINGLE_STREAM): (None, {"page": 3}),
    }
    assert_at_head(database_url)


def test_0010_downgrade_keeps_the_earliest_stream_position(database_url: str) -> None:
    migrate_to(database_url, "0009")
    user_id = seed_source_cursors(database_url)
    migrate_to(database_url, "head")
    sessions = open_store(database_url)
    with sessions.begin() as session:
        # the reviews fell behind the pull requests: the one cursor of 0009 must not skip them
        repository.save_cursor(session, user_id, "github", "pull_requests", GITHUB_AT + timedelta(days=3), {})
    sessions.kw["bind"].dispose()

    migrate_to(database_url, "0009", down=True)
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        old = {row.source: (row.harvested_until, row.state) for row in connection.execute(sa.select(OLD_CURSORS))}
    engine.dispose()
    assert old["github"] == (GITHUB_AT, {})
    assert old["google_calendar"] == (CALENDAR_AT, {"calendars": {"primary": PRIMARY_STATE, TEAM: TEAM_STATE}})
    assert old["gitlab"] == (None, {"page": 3})
    assert set(old) == {"github", "jira", "google_calendar", "gitlab"}
