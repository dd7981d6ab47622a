"""What a connector retries and how long it waits: the server's word within the user's bound, and
answers that arrived but cannot be read.

`RetryPolicy` is the one retry loop of every connector, on tenacity: it retries what the
source's `ErrorTable` calls transient or rate limited, network failures and unreadable answers;
it sleeps what `Retry-After` or a rate-limit reset header asks, within `[<source>]
max_rate_limit_wait`, and otherwise backs off exponentially. The client libraries' own retries
are switched off (PyGithub `retry=None`, jira `max_retries=0`, googleapiclient `num_retries=0`):
PyGithub's recognises a rate-limited 403 only by GitHub's wording, jira's doubles Retry-After
and skips 500/502/504, and googleapiclient's ignores Retry-After.

An unreadable answer (cut off on the wire, not JSON, an HTML page, JSON of the wrong shape) is
treated as transient wherever it comes from: a proxy, a load balancer or a server under strain
answers so for a moment. It is retried like a 5xx, and if it persists the source fails with a
message naming what the server sent; it never counts as an empty page and never as a checkpoint.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import requests
import tenacity
import urllib3.exceptions

from harvester.errors import RateLimitError, SourceError, TransientError
from harvester.sources.http_errors import ErrorTable, HttpFailure

__all__ = [
    "HTML_ANSWER",
    "RetryPolicy",
    "UnreadableAnswer",
    "describe_text",
    "expect_fields",
    "expect_object",
    "expect_objects",
    "gave_up",
    "json_type",
    "read_answer",
    "retry_wait",
    "unreadable_answer",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

HTML_ANSWER = "an HTML page instead of JSON"
# a JSON type as the answers' documentation names it, for messages
_JSON_TYPES: Mapping[type, str] = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}


class UnreadableAnswer(Exception):
    """An answer arrived but cannot be read; `what` says what the server sent, for the user."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def retry_wait(
    requested: float | None,
    attempt: int,
    *,
    source: str,
    service: str,
    max_wait: float,
    backoff_factor: float,
) -> float:
    """Seconds to sleep before retry number `attempt` (0-based).

    A `Retry-After` the server sent (`requested`) is honoured exactly, unless it is longer than
    `[<source>] max_rate_limit_wait`, which ends the harvest of this source with a clear error
    (the next harvest resumes from its cursor); without one, exponential backoff within the bound.
    """
    if requested is None:
        return float(min(max_wait, backoff_factor * 2**attempt))
    if requested > max_wait:
        raise RateLimitError(
            source,
            f"rate limited; {service} asks to wait {requested:.0f} s, more than the "
            f"{max_wait:.0f} s allowed by [{source}] max_rate_limit_wait",
            wait_seconds=requested,
        )
    return requested


def unreadable_answer(exc: BaseException) -> UnreadableAnswer | None:
    """The unreadable answer a client library's exception stands for; None for any other failure.

    Measured with requests 2.32 / urllib3 2 (PyGithub, jira) and httplib2 0.22 (googleapiclient):
    a body shorter than its Content-Length or a chunk cut off raises `ChunkedEncodingError` from
    requests and `http.client.IncompleteRead` from httplib2; a body that is not JSON raises
    `JSONDecodeError` (requests' subclass in jira, the plain one in PyGithub).
    """
    if isinstance(exc, UnreadableAnswer):
        return exc
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | urllib3.exceptions.ProtocolError):
        return UnreadableAnswer(f"an answer cut off before its end ({_innermost(exc)})")
    if isinstance(exc, http.client.IncompleteRead):
        return UnreadableAnswer(f"an answer cut off before its end ({len(exc.partial)} bytes arrived)")
    if isinstance(exc, json.JSONDecodeError):
        return UnreadableAnswer(describe_text(exc.doc, f"JSON that does not parse ({exc.msg} at {exc.pos})"))
    if isinstance(exc, UnicodeDecodeError):
        return UnreadableAnswer("an answer that is not UTF-8 text")
    return None


def read_answer(operation: Callable[[], T]) -> T:
    """Run one client call, turning the library's exception for an unreadable answer into `UnreadableAnswer`."""
    try:
        return operation()
    except Exception as exc:
        answer = unreadable_answer(exc)
        if answer is None or answer is exc:
            raise
        raise answer from None


def _no_failure(_exc: BaseException) -> HttpFailure | None:
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """One source's retries: what to retry (its error table), how long to wait, and what to report after."""

    errors: ErrorTable
    # the API's name in messages ("GitHub asks to wait ...") and the address the source was given
    service: str
    address: str
    max_wait: float
    backoff_factor: float
    # the client library's exception for an error answer, translated; None for any other exception
    failure: Callable[[BaseException], HttpFailure | None] = _no_failure
    # the client library's network failures (refused, reset, timed out): retried with backoff
    unreachable: tuple[type[BaseException], ...] = ()
    # added to the message when the answers were HTML pages: the address is a web page, not the API
    html_hint: str = ""
    sleep: Callable[[float], None] = time.sleep

    @property
    def source(self) -> str:
        return self.errors.source

    @property
    def attempts(self) -> int:
        return self.errors.retries + 1

    def with_errors(self, errors: ErrorTable) -> RetryPolicy:
        return replace(self, errors=errors)

    def run(self, operation: Callable[[], T], request: str) -> T:
        """`operation()`, retried as the policy says; whatever still fails is raised as a `SourceError`.

        Exceptions the policy does not know (a connector's own signals) pass through unchanged.
        """
        with self.classified(request):
            return self.retried(operation, request)
        raise AssertionError("unreachable")  # for mypy: classified() re-raises

    def retried(self, operation: Callable[[], T], request: str) -> T:
        """`operation()`, retried as the policy says; an error answer that persists is raised as `HttpFailure`.

        For a connector whose messages need more than the request (the calendar asked for) and
        which classifies the failure itself, with `classified()`.
        """
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            retry=tenacity.retry_if_exception(self.retriable),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=lambda state: self._log_retry(state, request),
            reraise=True,
        )
        try:
            result: T = retrying(self._attempt, operation)
        except UnreadableAnswer as answer:
            raise gave_up(self.source, self.address, request, answer, self.attempts, html_hint=self.html_hint) from None
        return result

    @contextmanager
    def classified(self, request: str = "") -> Iterator[None]:
        """Raise what fails inside as the `SourceError` it stands for, without retrying (for one-off checks)."""
        try:
            yield
        except SourceError:
            raise
        except Exception as exc:
            error = self.final_error(exc, request)
            if error is None:
                raise
            raise error from None

    def retriable(self, exc: BaseException) -> bool:
        if isinstance(exc, HttpFailure):
            return self.errors.retriable(exc)
        return isinstance(exc, (UnreadableAnswer, *self.unreachable))

    def final_error(self, exc: BaseException, request: str = "") -> SourceError | None:
        """The error to report for `exc` once it is not retried any more; None for an exception it does not know."""
        if isinstance(exc, UnreadableAnswer):
            return gave_up(self.source, self.address, request, exc, self.attempts, html_hint=self.html_hint)
        failure = exc if isinstance(exc, HttpFailure) else self.failure(exc)
        if failure is not None:
            return self.errors.error(failure)
        if isinstance(exc, self.unreachable):
            return TransientError(self.source, f"cannot reach {self.address} ({type(exc).__name__})")
        return None

    def wait(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds before retry number `attempt` (0-based) after `exc`; raises `RateLimitError` past the bound."""
        requested = self.errors.requested_wait(exc) if isinstance(exc, HttpFailure) else None
        return retry_wait(
            requested,
            attempt,
            source=self.source,
            service=self.service,
            max_wait=self.max_wait,
            backoff_factor=self.backoff_factor,
        )

    def _attempt(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except Exception as exc:
            answer = unreadable_answer(exc)
            if answer is not None and answer is not exc:
                raise answer from None
            failure = None if answer is not None else self.failure(exc)
            if failure is not None:
                raise failure from exc
            raise

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        return self.wait(outcome.exception() if outcome is not None else None, state.attempt_number - 1)

    def _log_retry(self, state: tenacity.RetryCallState, request: str) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        what = exc.what if isinstance(exc, UnreadableAnswer) else type(exc).__name__
        if isinstance(exc, HttpFailure):
            what = f"status {exc.status}"
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.info(
            "%s: %s got %s; retrying in %.1f s (attempt %d of %d)",
            self.source,
            request,
            what,
            wait,
            state.attempt_number,
            self.errors.retries,
        )


def describe_text(text: object, otherwise: str) -> str:
    """What a body that should have been JSON was, when it is plainly something else."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    head = str(text).lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head:
        return HTML_ANSWER
    if not head:
        return "an empty answer"
    return otherwise


def gave_up(
    source: str, service: str, request: str, answer: UnreadableAnswer, attempts: int, *, html_hint: str = ""
) -> TransientError:
    """The error after `attempts` unreadable answers in a row; the next harvest starts again from the cursor.

    `html_hint` is added when the answer was an HTML page: every time, that means the address
    is a web page, not the API (which only the user can fix), so the message says so.
    """
    message = f"{service} answered {request} with {answer.what}, {attempts} times in a row"
    if html_hint and answer.what.startswith(HTML_ANSWER):
        return TransientError(source, message, fix=f"{TransientError.fix}; if it persists, {html_hint}")
    return TransientError(source, message)


def expect_object(value: Any, what: str) -> dict[str, Any]:
    """`value` if it is a JSON object; otherwise the answer is unreadable."""
    if not isinstance(value, dict):
        raise UnreadableAnswer(f"{what} as {json_type(value)}, not an object")
    return value


def expect_objects(value: Any, what: str) -> list[dict[str, Any]]:
    """`value` if it is a list of JSON objects; otherwise the answer is unreadable."""
    if not isinstance(value, list):
        raise UnreadableAnswer(f"{what} as {json_type(value)}, not a list")
    for item in value:
        if not isinstance(item, dict):
            raise UnreadableAnswer(f"{what} with {json_type(item)} among its entries, not an object")
    return value


def expect_fields(entry: Mapping[str, Any], types: Mapping[str, type | tuple[type, ...]], what: str) -> None:
    """Every field of `entry` named in `types` is absent, null, or of its documented JSON type."""
    for name, expected in types.items():
        value = entry.get(name)
        if value is None:
            continue
        # JSON booleans are Python ints: a number field holding true is still the wrong type
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in _as_tuple(expected)):
            raise UnreadableAnswer(f"{what} whose {name!r} is {json_type(value)}")


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    for kind, name in _JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _innermost(exc: BaseException) -> str:
    """The deepest cause among an exception's args and chain, e.g. IncompleteRead(12 bytes read, 9 more expected)."""
    current: BaseException = exc
    for _ in range(5):
        nested = next((arg for arg in current.args if isinstance(arg, BaseException)), None)
        nested = nested or current.__cause__ or current.__context__
        if nested is None:
            break
        current = nested
    incomplete = isinstance(current, http.client.IncompleteRead | urllib3.exceptions.IncompleteRead)
    return repr(current) if incomplete else str(current)
