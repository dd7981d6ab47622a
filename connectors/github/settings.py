"""The `[github]` section: how to reach GitHub (or GitHub Enterprise Server) and what to read."""

from __future__ import annotations

from pydantic import Field, field_validator

from harvester.config import SecretSetting, Section


class GitHubSettings(Section):
    token: SecretSetting | None = None
    base_url: str = "https://api.github.com"
    login: str | None = Field(default=None, description="default: the token's user, from GET /user")
    reviews: bool = Field(default=True, description="also harvest the reviews you gave")
    max_rate_limit_wait: float = Field(default=300.0, ge=0, description="seconds to sleep for a rate limit")
    timeout: int = Field(default=30, gt=0)

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://api.github.com or https://HOST/api/v3")
        return value.rstrip("/")
