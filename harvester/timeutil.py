"""Windows of time in the user's timezone: parsing `--since/--until`, ISO weeks."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def parse_api_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp from an API (a trailing Z allowed); naive values are taken as UTC."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_z(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z and whole seconds, the form GitHub and Google accept everywhere."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
