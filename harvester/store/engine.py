"""Engines for SQLite (the default, WAL mode) and PostgreSQL, migrated to the newest schema on first use.

A migration runs in one transaction holding a lock (SQLite's write lock, PostgreSQL's advisory lock):
a process killed part-way leaves the schema as it was, and processes starting together wait for
the first one and then find the schema migrated. Errors of the database itself (damaged file, full
disk, read-only file, missing driver) become one `StoreError` here, wherever the store is used.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, table, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from harvester.errors import StoreError
from harvester.store.models import Base

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# the newest migration's revision (tests/test_migrations.py checks it is alembic's head): a store
# already there opens without importing alembic, a third of an unchanged harvest's start-up
SCHEMA_HEAD = "0014"

# how long a write waits for another process's write lock (a harvest batch, a review action)
WRITE_LOCK_WAIT_MS = 10_000
# how long a process starting up waits for another one's migration (long ones copy whole tables)
MIGRATION_LOCK_WAIT_MS = 600_000
# pg_advisory_xact_lock key; advisory locks are per database, so two databases never wait on each other
POSTGRES_MIGRATION_LOCK = 0x62726167  # "brag"

POSTGRES_INSTALL_HINT = "pip install 'brag-harvester[postgres]'"

# sqlite3's primary result codes (sqlite.org/rescode.html); Python >= 3.11 sets `sqlite_errorcode`
SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN = 3, 8, 10, 11, 13, 14
SQLITE_NOTADB = 26

# PostgreSQL SQLSTATEs (postgresql.org/docs/current/errcodes-appendix.html)
PG_DISK_FULL, PG_READ_ONLY_TRANSACTION, PG_DATA_CORRUPTED, PG_INDEX_CORRUPTED = "53100", "25006", "XX001", "XX002"


def _apply_pragmas(dbapi_connection: Any, *, busy_timeout_ms: int, foreign_keys: bool) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout first: switching a new file to WAL needs a lock that another first-time process may hold
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    # WAL lets `brag serve` read while a harvest writes
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _apply_pragmas(dbapi_connection, busy_timeout_ms=WRITE_LOCK_WAIT_MS, foreign_keys=True)


def _sqlite_migration_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite BEGINs only before INSERT/UPDATE/DELETE, so every CREATE TABLE committed on its own and a
    # kill left half a schema ("table users already exists" ever after). With the driver's transaction
    # handling off, `_begin_immediate` opens the one transaction (SQLAlchemy's documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    # batch mode copies a table and drops the old one; with foreign keys on, that drop deletes (cascades)
    # the rows pointing at it. The pragma is a no-op inside a transaction, so it is off for this connection
    # and `_check_foreign_keys` runs before commit (SQLite's documented ALTER TABLE procedure).
    _apply_pragmas(dbapi_connection, busy_timeout_ms=MIGRATION_LOCK_WAIT_MS, foreign_keys=False)


def _begin_immediate(connection: Connection) -> None:
    # IMMEDIATE takes the database's write lock now: a second process waits here, then finds the schema migrated
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def describe(url: URL) -> str:
    """The database as the user should read it: the file for SQLite, the URL without password otherwise."""
    if url.get_backend_name() == "sqlite":
        return str(_sqlite_path(url) or "the in-memory database")
    return url.render_as_string(hide_password=True)


def _sqlite_path(url: URL) -> Path | None:
    database = url.database or ""
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser()


def _os_says(path: Path) -> str:
    """What the operating system answers when we open the database (or its directory) for writing."""
    try:
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if candidate.exists():
                os.close(os.open(candidate, os.O_RDWR))
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        return f"; the operating system says: {exc}"
    return ""


def _free_space(path: Path) -> str:
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return ""
    return f" ({free / 2**20:,.1f} MiB free there)"


def _sqlite_error(url: URL, error: BaseException) -> StoreError | None:
    code = getattr(error, "sqlite_errorcode", None)
    path = _sqlite_path(url)
    if code is None or path is None:
        return None
    where, said = str(path), str(error)
    primary = code & 0xFF
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreError(
            where,
            f"the database file is damaged or is not a brag database ({said})",
            fix="restore it from a backup, or move it away and brag starts a new, empty one",
        )
    if primary == SQLITE_FULL:
        return StoreError(
            where,
            f"cannot write the database: {said}{_free_space(path)}",
            fix="free some space and run the command again (nothing half-written is kept)",
        )
    if primary in (SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_IOERR):
        verb = "open" if primary == SQLITE_CANTOPEN else "write"
        return StoreError(
            where,
            f"cannot {verb} the database: {said}{_os_says(path)}",
            fix="brag needs to write the file and create files beside it (WAL); check permissions and free space",
        )
    return None


def _postgres_error(url: URL, error: BaseException) -> StoreError | None:
    state = getattr(error, "sqlstate", None)
    where, said = describe(url), str(error).strip()
    if state == PG_DISK_FULL:
        return StoreError(where, f"the PostgreSQL server is out of disk space ({said})", fix="free space on the server")
    if state == PG_READ_ONLY_TRANSACTION:
        return StoreError(
            where, f"the database is read-only ({said})", fix="point [database] url at the primary, not a standby"
        )
    if state in (PG_DATA_CORRUPTED, PG_INDEX_CORRUPTED):
        return StoreError(where, f"the database reports damaged data ({said})", fix="restore it from a backup")
    return None


def store_error(url: URL, error: BaseException) -> StoreError | None:
    """The user-facing error for a database failure that is not a bug, or None."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_error(url, error)
    return _postgres_error(url, error)


def _raise_store_error(context: ExceptionContext) -> None:
    # handle_error sees every DBAPI error of this engine, connecting included, so this is the one place
    if context.engine is None:
        return
    error = store_error(context.engine.url, context.original_exception)
    if error is not None:
        raise error from context.original_exception


def _create_engine(url: URL, **options: Any) -> Engine:
    try:
        # hide_parameters: an error message never carries a bound value (a fresh signing key, a token)
        engine = create_engine(url, hide_parameters=True, **options)
    except ModuleNotFoundError as exc:
        fix = POSTGRES_INSTALL_HINT
        if exc.name == "psycopg2":
            fix = f"write [database] url as postgresql+psycopg://… and {POSTGRES_INSTALL_HINT}"
        raise StoreError(
            describe(url), f"[database] url needs the {exc.name} driver, which is not installed", fix=fix
        ) from None
    event.listen(engine, "handle_error", _raise_store_error)
    return engine


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _create_engine(parsed, pool_pre_ping=True)
    path = _sqlite_path(parsed)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(str(path), f"cannot create the database's directory: {exc}") from None
    engine = _create_engine(parsed)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction, holding the migration lock, that commits every migration step or none."""
    if engine.dialect.name == "postgresql":
        # PostgreSQL's DDL is transactional; the lock is released at commit, rollback or disconnect
        with engine.begin() as connection:
            connection.execute(select(func.pg_advisory_xact_lock(POSTGRES_MIGRATION_LOCK)))
            yield connection
        return
    if _sqlite_path(engine.url) is None:
        # an in-memory database lives and dies with this process: nothing to serialise or leave half-done
        with engine.begin() as connection:
            yield connection
        return
    migrator = _create_engine(engine.url, poolclass=NullPool)
    event.listen(migrator, "connect", _sqlite_migration_pragmas)
    event.listen(migrator, "begin", _begin_immediate)
    try:
        with migrator.begin() as connection:
            yield connection
            _check_foreign_keys(connection)
    finally:
        migrator.dispose()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StoreError(
            describe(connection.engine.url),
            f"migrating would leave {len(broken)} rows of {broken[0][0]} pointing at missing rows; nothing was changed",
            fix="please report this",
        )


def _current_revision(connection: Connection, script: ScriptDirectory) -> str | None:
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None and current not in {known.revision for known in script.walk_revisions()}:
        raise StoreError(
            describe(connection.engine.url),
            f"this database was written by a newer brag (schema {current}; this brag knows up to "
            f"{script.get_current_head()})",
            fix="upgrade brag (pip install -U brag-harvester), or point [database] url at another database",
        )
    return current


def _clear_interrupted_first_use(connection: Connection) -> None:
    """Drop the empty tables an interrupted first use left behind before migrations were atomic."""
    existing = set(inspect(connection).get_table_names()) & set(Base.metadata.tables)
    if not existing:
        return
    if any(connection.scalar(select(func.count()).select_from(table(name))) for name in existing):
        raise StoreError(
            describe(connection.engine.url),
            f"the database holds brag's tables ({', '.join(sorted(existing))}) but no schema version",
            fix="restore it from a backup, or point [database] url at another database",
        )
    for model in reversed(Base.metadata.sorted_tables):
        if model.name in existing:
            connection.exec_driver_sql(f'DROP TABLE "{model.name}"')


def _at_head(engine: Engine) -> bool:
    """Whether the store's schema is already the newest, read without alembic."""
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        # no version table yet (a new store), or one this query cannot read: alembic decides
        return False
    return versions == [SCHEMA_HEAD]


def migrate(engine: Engine) -> bool:
    """Bring the schema to the newest revision; returns whether anything was applied."""
    if _at_head(engine):
        return False
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    with engine.connect() as connection:
        if _current_revision(connection, script) == head:
            return False
    with _migration_transaction(engine) as connection:
        # read again under the lock: another process may have migrated while this one waited
        current = _current_revision(connection, script)
        if current == head:
            return False
        if current is None:
            _clear_interrupted_first_use(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return True


def open_store(url: str) -> sessionmaker[Session]:
    """An engine on `url`, migrated, wrapped in a session factory."""
    engine = create_db_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
