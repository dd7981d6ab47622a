"""Secrets in the configuration: inline, or `env:NAME`, `file:PATH` or `keyring:` references.

A `Secret` keeps the reference, not the value, until a connector needs it, and never shows
the value in its repr, so secrets cannot leak into logs, error messages or the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harvester.errors import ConfigError

KEYRING_SERVICE = "brag-harvester"
# the references, whose text is safe to show; anything else is the secret itself
REFERENCE_PREFIXES = ("env:", "file:", "keyring:")
NO_KEYRING_FIX = (
    'use an environment variable instead (e.g. token = "env:GITHUB_TOKEN"), or install a keyring backend '
    "(a desktop Secret Service or KWallet, or `pip install keyrings.alt` for a file-based one)"
)


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret as written in the configuration; `reveal()` resolves it when it is used.

    Forms: `env:NAME` reads the environment variable NAME; `file:PATH` reads the file PATH
    (a container's mounted secret, such as /run/secrets/brag_key), without its final line
    break; `keyring:` reads the OS keyring entry for this key (service "brag-harvester",
    user "<section>.<key>"); `keyring:SERVICE/USER` names the entry; anything else is the
    secret itself.
    """

    reference: str
    key: str = ""
    # a value that came from elsewhere than the configuration (a connected account's token, a
    # token a user pasted): never read as a reference, so "file:/etc/shadow" pasted as a token
    # stays that text instead of reading a file of the server's
    verbatim: bool = False

    @classmethod
    def of(cls, value: str, key: str = "") -> Secret:
        """A secret holding `value` itself, whatever it starts with."""
        return cls(value, key, verbatim=True)

    def __repr__(self) -> str:
        return f"Secret({self.describe()!r})"

    __str__ = __repr__

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        if self.verbatim:
            return "value given (hidden)"
        if self.reference.startswith(REFERENCE_PREFIXES):
            return self.reference
        return "inline value (hidden)"

    def reveal(self) -> str:
        if self.verbatim:
            return self.reference
        if self.reference.startswith("env:"):
            name = self.reference[4:]
            value = os.environ.get(name)
            if not value:
                raise ConfigError(
                    f"expects the environment variable {name} to hold the secret, but it is not set",
                    key=self.key,
                )
            return value
        if self.reference.startswith("file:"):
            return self._from_file(self.reference[5:])
        if self.reference.startswith("keyring:"):
            return self._from_keyring(self.reference[8:])
        return self.reference

    def _from_file(self, where: str) -> str:
        if not where.strip():
            raise ConfigError(
                "file: needs the path of the file holding the secret, as in file:/run/secrets/NAME", key=self.key
            )
        path = Path(where).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"expects the file {path} to hold the secret, but there is no such file", key=self.key
            ) from None
        except IsADirectoryError:
            raise ConfigError(
                f"expects the file {path} to hold the secret, but it is a directory", key=self.key
            ) from None
        except PermissionError:
            raise ConfigError(
                f"cannot read the file {path}: permission denied; let the user brag runs as read it", key=self.key
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"the file {path} is not UTF-8 text; write the secret as text", key=self.key) from None
        except OSError as exc:
            raise ConfigError(f"cannot read the file {path}: {exc.strerror}", key=self.key) from None
        # `echo KEY > file` and editors add a final line break; the secret itself never ends in one
        value = text.rstrip("\r\n")
        if not value.strip():
            raise ConfigError(f"the file {path} is empty; write the secret into it", key=self.key)
        return value

    def _from_keyring(self, where: str) -> str:
        service, _, user = where.partition("/")
        if not service:
            service, user = KEYRING_SERVICE, self.key
        import keyring
        import keyring.errors

        try:
            value = keyring.get_password(service, user)
        except keyring.errors.NoKeyringError:
            raise ConfigError(
                f"{self.reference!r} needs an OS keyring, and this machine has none (NoKeyringError); {NO_KEYRING_FIX}",
                key=self.key,
            ) from None
        except keyring.errors.KeyringLocked:
            raise ConfigError(
                "the OS keyring is locked; unlock it (log in to the desktop session) and run again", key=self.key
            ) from None
        except Exception as exc:  # keyring backends raise many unrelated types
            raise ConfigError(
                f"could not read the OS keyring ({type(exc).__name__}: {exc}); {NO_KEYRING_FIX}", key=self.key
            ) from None
        if not value:
            raise ConfigError(
                f"no keyring entry for service {service!r}, user {user!r}; store it with: keyring set {service} {user}",
                key=self.key,
            )
        return str(value)
