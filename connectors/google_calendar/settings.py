"""The `[google_calendar]` section: the OAuth files, which calendars, and what to leave out."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from harvester.config import Section


class GoogleCalendarSettings(Section):
    client_secrets_file: Path | None = Field(
        default=None, description="OAuth client JSON ('Desktop app'), used by `brag auth google`"
    )
    token_file: Path | None = Field(
        default=None, description="authorized-user JSON written by `brag auth google`; default in the user data dir"
    )
    calendars: list[str] = Field(default_factory=lambda: ["primary"], min_length=1)
    skip: list[str] = Field(default_factory=list, description="case-insensitive substrings of titles to leave out")
    api_endpoint: str = "https://www.googleapis.com/calendar/v3/"
    include_descriptions: bool = Field(default=False, description="store event descriptions (off: metadata only)")
    max_rate_limit_wait: float = Field(default=300.0, ge=0, description="seconds to sleep for a rate limit")
    timeout: int = Field(default=30, gt=0)

    @field_validator("api_endpoint")
    @classmethod
    def _calendar_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://www.googleapis.com/calendar/v3/")
        return value

    def resolved_token_file(self) -> Path:
        from connectors.google_calendar.auth import default_token_file

        return (self.token_file or default_token_file()).expanduser()
