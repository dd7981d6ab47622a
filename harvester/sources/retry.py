"""What a connector retries and how long it waits: the server's word within the user's bound, and
answers that arrived but cannot be read.

An unreadable answer (cut off on the wire, not JSON, an HTML page, JSON of the wrong shape) is
treated as transient wherever it comes from: a proxy, a load balancer or a server under strain
answers so for a moment. It is retried like a 5xx, and if it persists the source fails with a
message naming what the server sent; it never counts as an empty page and never as a checkpoint.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
import urllib3.exceptions

from harvester.errors import RateLimitError, TransientError

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
