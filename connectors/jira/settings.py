"""The `[jira]` section: a Jira Cloud site or a Server/Data Center instance, and how to sign in."""

from __future__ import annotations

from pydantic import Field, field_validator

from harvester.config import SecretSetting, Section


class JiraSettings(Section):
    server: str = Field(description="https://YOUR-SITE.atlassian.net, or your Server/Data Center address")
    email: str | None = Field(default=None, description="Cloud: the account's email, with token")
    token: SecretSetting | None = Field(default=None, description="Cloud: an API token")
    pat: SecretSetting | None = Field(default=None, description="Server/Data Center: a personal access token")
    jql: str | None = Field(default=None, description="replaces the default filter part: statusCategory = Done")
    done_statuses: tuple[str, ...] = Field(default=("Done", "Closed"), min_length=1)
    max_rate_limit_wait: float = Field(default=300.0, ge=0, description="seconds to sleep for a rate limit")
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("server")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://acme.atlassian.net or https://jira.example.com")
        return value.rstrip("/")
