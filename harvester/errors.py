"""Every error the harvester raises on purpose, classified once where it happens.

    BragError
     ├── ConfigError            the user must fix the configuration file (names file, key, expectation)
     ├── StoreError             the database cannot be opened, read or written (names the file or server, says why)
     └── SourceError            one source failed; the runner reports it and the other sources still run
          ├── SourceAuthError   the user must act: token invalid, expired or lacking a scope
          ├── SourceConfigError the user must act: wrong URL, unknown account, unsupported deployment
          └── TransientError    rate limit, 5xx, timeout: already retried with backoff, still failing
               └── RateLimitError  the wait the API asks for is longer than we are willing to sleep

Connectors raise only `SourceError` subclasses; anything else escaping a connector is a bug and
is reported with its traceback. An HTTP error answer becomes one of them through one table,
`harvester.sources.http_errors.ErrorTable`, after the retries of `harvester.sources.retry.RetryPolicy`.
"""

from __future__ import annotations

from pathlib import Path


class BragError(Exception):
    """Base class for errors with a message meant for the user."""


class ConfigError(BragError):
    """Invalid configuration: which file, which key, what was expected."""

    def __init__(self, message: str, *, path: Path | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = f"{path}: " if path else ""
        field = f"[{key}] " if key else ""
        super().__init__(f"{where}{field}{message}")


class SourceError(BragError):
    """A source could not be harvested; `source` names it for the report."""

    fix: str = ""

    def __init__(self, source: str, message: str, *, fix: str | None = None) -> None:
        self.source = source
        self.detail = message
        if fix is not None:
            self.fix = fix
        text = f"{source}: {message}"
        if self.fix:
            text += f" — {self.fix}"
        super().__init__(text)


class SourceAuthError(SourceError):
    """The credentials were refused; only the user can fix this."""


class SourceConfigError(SourceError):
    """The source is misconfigured (URL, deployment type, account); only the user can fix this."""


class TransientError(SourceError):
    """A failure that may pass on its own; the next scheduled harvest will retry."""

    fix = "this is usually temporary; the next harvest continues where this one stopped"


class RateLimitError(TransientError):
    """The API asked us to wait longer than the configured maximum."""

    def __init__(self, source: str, message: str, *, wait_seconds: float | None = None) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(source, message)


class StoreError(BragError):
    """The database could not be opened, read or written: which file or server, what it said, what to do."""

    def __init__(self, where: str, message: str, *, fix: str = "") -> None:
        self.where = where
        self.detail = message
        self.fix = fix
        super().__init__(f"{where}: {message}" + (f" — {fix}" if fix else ""))


__all__ = [
    "BragError",
    "ConfigError",
    "RateLimitError",
    "SourceAuthError",
    "SourceConfigError",
    "SourceError",
    "StoreError",
    "TransientError",
]
