"""The grants' encryption: Fernet tokens under one or more keys, newest first (MultiFernet).

A grant is sealed with the first key and opened with whichever key sealed it, so rotating is:
put a new key first, `brag team rotate-key` re-seals every grant with it, then drop the old key.
The keys come from `[team] encryption_key` (env:, file: or keyring:) and never reach the
database, a log line, a repr or an error message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from harvester.errors import ConfigError
from harvester.secrets import Secret

__all__ = ["KEY_SETTING", "MAKE_KEY", "Vault", "new_key", "split_keys"]

KEY_SETTING = "[team] encryption_key"
MAKE_KEY = (
    "make a key with `brag team init` (it prints a new one when none is configured) or "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`, '
    "and give it as env:NAME, file:PATH or keyring: (docs/team.md)"
)


def new_key() -> str:
    """A fresh Fernet key, as the text to store in the environment, a file or the keyring."""
    return Fernet.generate_key().decode("ascii")


class Vault:
    """Seals grants (plain JSON-able dicts) into bytes for the database, and opens them again."""

    def __init__(self, keys: Sequence[str], *, path: Path | None = None) -> None:
        self._path = path
        if not keys:
            raise ConfigError(f"{KEY_SETTING} holds no key; {MAKE_KEY}", path=path)
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("utf-8")))
            except (ValueError, UnicodeEncodeError):
                # the message never quotes the key: a near-miss is still most of a secret
                which = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
                raise ConfigError(
                    f"{KEY_SETTING}: {which} is not a Fernet key (32 bytes in url-safe base64, 44 characters); "
                    + MAKE_KEY,
                    path=path,
                ) from None
        self._keys = len(fernets)
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_secret(cls, secret: Secret, *, path: Path | None = None) -> Vault:
        """The vault of `[team] encryption_key`: its keys, newest first, comma-separated."""
        try:
            text = secret.reveal()
        except ConfigError as exc:
            raise ConfigError(f"{exc}; {MAKE_KEY}", path=path or exc.path) from None
        return cls(split_keys(text), path=path)

    @property
    def key_count(self) -> int:
        return self._keys

    def __repr__(self) -> str:
        return f"Vault({self._keys} key{'s' if self._keys != 1 else ''})"

    __str__ = __repr__

    def seal(self, grant: Mapping[str, Any]) -> bytes:
        """The grant encrypted and authenticated with the newest key."""
        return self._fernet.encrypt(json.dumps(dict(grant), separators=(",", ":")).encode("utf-8"))

    def open(self, sealed: bytes) -> dict[str, Any]:
        """The grant inside `sealed`; a ConfigError when no configured key opens it."""
        try:
            plain = self._fernet.decrypt(sealed)
        except InvalidToken:
            raise self._cannot_open() from None
        grant: dict[str, Any] = json.loads(plain)
        return grant

    def reseal(self, sealed: bytes) -> bytes:
        """`sealed` opened with whichever key sealed it and sealed again with the newest."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken:
            raise self._cannot_open() from None

    def _cannot_open(self) -> ConfigError:
        return ConfigError(
            f"none of the {self._keys} key(s) in {KEY_SETTING} opens a stored grant: the key that sealed it "
            "was removed or changed. Put that key back at the end of the list, or, if it is lost, the "
            "grant's owner must connect the account again",
            path=self._path,
        )


def split_keys(text: str) -> list[str]:
    """The keys of a comma-separated list, blanks (a trailing comma, spaces) left out."""
    return [part.strip() for part in text.split(",") if part.strip()]
