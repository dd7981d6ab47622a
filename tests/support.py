"""Constants shared by the tests (conftest.py holds the fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from keyring.backend import KeyringBackend

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


# the OS keyring, kept in memory, so tests never touch the real one
class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


def fresh_postgres_database(admin_url: str, prefix: str = "brag_test") -> Iterator[str]:
    """A new, empty database on the server `admin_url` reaches, as a URL; dropped when resumed."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
