"""Constants shared by the tests (conftest.py holds the fixtures)."""

from __future__ import annotations

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
