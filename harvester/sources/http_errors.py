"""What an HTTP error answer means, once for every connector: the user's to fix, transient, or rate limited.

    status   default meaning                         a connector extends it with
    401      SourceAuthError (the source's fix)      its own message and fix
    403      SourceAuthError, unless rate limited    what marks a rate limit (GitHub: headers, Google: reasons)
    404      SourceConfigError (the address)         which setting holds the address
    429      RateLimitError, retried                 how long the API asks to wait
    5xx      TransientError, retried                 statuses that never pass (501)
    other    SourceError "unexpected answer"         400, 410, 422 where they mean a setting

A connector turns its client library's exception into an `HttpFailure` (status, headers, the
API's own message) and keeps one `ErrorTable`; the retry policy (harvester.sources.retry) asks
the table what to retry and how long the server wants us to wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from harvester.errors import RateLimitError, SourceAuthError, SourceConfigError, SourceError, TransientError
from harvester.timeutil import parse_api_time, retry_after_seconds

__all__ = [
    "TRANSIENT_STATUSES",
    "ErrorTable",
    "HttpFailure",
    "Outcome",
    "Rule",
    "auth",
    "config",
    "failed",
    "reset_wait",
]

# 501 Not Implemented and 505 will not pass by retrying; the other 5xx usually do
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


class HttpFailure(Exception):
    """An error answer in neutral terms: what every connector's client library raises, translated."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, Any] | None = None,
        *,
        message: str = "",
        reason: str = "",
        body: Any = None,
        url: str = "",
    ) -> None:
        super().__init__(f"{status} {message}".strip())
        self.status = status
        # header names are case-insensitive (RFC 9110); the clients hand them over in any case
        self.headers = {str(name).lower(): str(value) for name, value in (headers or {}).items()}
        self.message = message
        # the API's machine-readable reason (Google's `error.errors[].reason`), for messages
        self.reason = reason
        self.body = body
        self.url = url


@dataclass(frozen=True)
class Outcome:
    """One row of the table: the error class, its message and the user's fix.

    The texts are `str.format` templates over the table's context (e.g. `{base}`) and the
    failure's `{status}`, `{message}`, `{reason}` and `{url}`.
    """

    error: type[SourceError]
    message: str
    fix: str | None = None

    def __call__(self, source: str, failure: HttpFailure, context: Mapping[str, str]) -> SourceError:
        values = {
            **context,
            "status": str(failure.status),
            "message": failure.message,
            "reason": failure.reason,
            "url": failure.url,
        }
        fix = self.fix.format_map(values) if self.fix is not None else None
        return self.error(source, self.message.format_map(values), fix=fix)


# a rule that needs more than a template (Jira's 401 asks which deployment answered); None falls through
Rule = Outcome | Callable[[HttpFailure], SourceError | None]


def auth(message: str, fix: str | None = None) -> Outcome:
    return Outcome(SourceAuthError, message, fix)


def config(message: str, fix: str | None = None) -> Outcome:
    return Outcome(SourceConfigError, message, fix)


def failed(message: str, fix: str | None = None) -> Outcome:
    return Outcome(SourceError, message, fix)


def _only_429(failure: HttpFailure) -> bool:
    return failure.status == 429


def _never(_failure: HttpFailure) -> bool:
    return False


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ErrorTable:
    """Status and body to error, for one source; `extend` where the source's API differs."""

    source: str
    # how many times a retriable failure is retried, for the messages after the last one
    retries: int
    rules: Mapping[int, Rule] = field(default_factory=dict)
    context: Mapping[str, str] = field(default_factory=dict)
    transient_statuses: frozenset[int] = TRANSIENT_STATUSES
    # whether an answer is a rate limit: 429 everywhere, some APIs also mark a 403 so
    rate_limited: Callable[[HttpFailure], bool] = _only_429
    # a rate limit that retrying within minutes will not lift (a daily quota): reported, not retried
    lasting: Callable[[HttpFailure], bool] = _never
    # the wait a rate-limited answer asks for when it names none in its headers (None: back off)
    rate_limit_wait: float | None = None
    clock: Callable[[], datetime] = _now

    def extend(self, *, rules: Mapping[int, Rule] | None = None, **changes: Any) -> ErrorTable:
        """This table with `rules` added over its own, and any other field replaced."""
        merged = {**self.rules, **(rules or {})}
        context = {**self.context, **changes.pop("context", {})}
        return replace(self, rules=merged, context=context, **changes)

    def retriable(self, failure: HttpFailure) -> bool:
        if self.lasting(failure):
            return False
        return failure.status in self.transient_statuses or self.rate_limited(failure)

    def requested_wait(self, failure: HttpFailure) -> float | None:
        """Seconds the server asks us to wait before the next try; None when it names no wait."""
        headers = failure.headers
        requested = retry_after_seconds(headers.get("retry-after"), date=headers.get("date"))
        if requested is None and self.rate_limited(failure):
            requested = reset_wait(headers, self.clock())
            if requested is None:
                requested = self.rate_limit_wait
        return requested

    def error(self, failure: HttpFailure) -> SourceError:
        """The error to report once `failure` is final (not retriable, or retried `retries` times)."""
        if self.rate_limited(failure):
            reason = f" {failure.reason}" if failure.reason else ""
            return RateLimitError(
                self.source, f"rate limited ({failure.status}{reason}) and {self.retries} retries did not get through"
            )
        rule = self.rules.get(failure.status)
        found = rule(self.source, failure, self.context) if isinstance(rule, Outcome) else rule and rule(failure)
        if found is not None:
            return found
        if failure.status >= 500:
            return TransientError(self.source, f"server error {failure.status} after {self.retries} retries")
        return SourceError(self.source, f"unexpected answer {failure.status}: {failure.message}")


def reset_wait(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until a rate-limit window resets, from headers with lower-case names; None without one.

    GitHub sends `x-ratelimit-reset` as epoch seconds with `x-ratelimit-remaining: 0`
    (documented), Jira Cloud as an ISO 8601 time with its 429s (documented), and the IETF
    draft's `ratelimit-reset` counts seconds from now. A second is added to whole-second resets,
    which would otherwise wake us just before the window turns.
    """
    if headers.get("x-ratelimit-remaining", "0").strip() == "0":
        reset = headers.get("x-ratelimit-reset", "").strip()
        if reset.isdigit():
            return max(0.0, int(reset) - now.timestamp()) + 1
        moment = _iso_time(reset)
        if moment is not None:
            return max(0.0, (moment - now).total_seconds()) + 1
    delta = headers.get("ratelimit-reset", "").strip()
    return float(delta) if delta.isdigit() else None


def _iso_time(text: str) -> datetime | None:
    try:
        return parse_api_time(text)
    except ValueError:
        return None
