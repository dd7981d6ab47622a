"""Windows of time in the user's timezone: parsing `--since/--until`, ISO weeks, quarters."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval [start, end) of aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must carry a timezone")

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


def zone_named(name: str | None, fallback: tzinfo) -> tzinfo:
    """The IANA zone `name` (a user's own, from their settings), or `fallback` when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("time zone %r is unknown; using %s", name, fallback)
    return fallback


def system_timezone() -> tzinfo:
    """The machine's local timezone, as an IANA zone when it can be determined."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            name = os.readlink("/etc/localtime").split("zoneinfo/", 1)[1]
        except (OSError, IndexError):
            name = ""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """Parse a date or datetime typed by the user; naive values are read in `zone`.

    A bare date means midnight at the start of that day in the user's timezone.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(0), tzinfo=zone)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (2026-11-03) or datetime (2026-11-03T14:00)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def iso_week_label(moment: datetime, zone: tzinfo) -> str:
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def iso_week_window(label: str, zone: tzinfo) -> Window:
    """The [Monday 00:00, next Monday 00:00) window of an ISO week label like 2026-W46."""
    match = _ISO_WEEK.match(label.strip())
    if not match:
        raise ValueError(f"{label!r} is not an ISO week like 2026-W46")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{label!r} is not a week of {year}") from exc
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    return Window(start, end)


def quarter_label(day: date) -> str:
    """The calendar quarter `day` is in, as the brag doc and the summaries name it: 2026Q4."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def local_time(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` on the user's clock: every date and time shown to the user goes through here.

    Harvested times keep their source's offset (GitHub and Jira answer in UTC), so a PR merged
    Tuesday 00:30 in Berlin is stored as Monday 23:30Z and must be shown as Tuesday.
    """
    return moment.astimezone(zone)


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day `moment` falls on for the user."""
    return local_time(moment, zone).date()


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def parse_api_time(value: object, zone: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp from an API; naive values are read in `zone` (UTC unless given).

    RFC 3339 allows a lower-case `t` and `z` and any number of fractional digits; Python 3.11's
    `fromisoformat` takes the digits (truncated to microseconds) but only an upper-case T and Z.
    """
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    text = str(value).strip()
    if len(text) > 10 and text[10] == "t":
        text = text[:10] + "T" + text[11:]
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def retry_after_seconds(value: object, *, date: object = None, now: datetime | None = None) -> float | None:
    """The wait a `Retry-After` header asks for: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    An HTTP-date is measured against the response's own `Date` header when there is one, so a
    skewed local clock does not stretch the wait; None when the header is absent or unreadable.
    """
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    reference = now
    if date:
        try:
            reference = parsedate_to_datetime(str(date))
        except (TypeError, ValueError, IndexError):
            reference = now
    if reference is None:
        reference = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max(0.0, (moment - reference).total_seconds())


def utc_z(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z and whole seconds, the form GitHub and Google accept everywhere."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "Window",
    "iso_week_label",
    "iso_week_window",
    "local_day",
    "local_time",
    "parse_api_time",
    "parse_moment",
    "quarter_label",
    "retry_after_seconds",
    "system_timezone",
    "utc",
    "utc_z",
    "zone_named",
]
