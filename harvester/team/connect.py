"""Connecting a person's accounts in team mode: each source's OAuth 2.0 web flow, read-only scopes.

`start` gives the address to send the browser to (with `state` and a PKCE verifier to keep in the
signed-in session), `finish` turns the provider's redirect back into a `Grant`, and `refresh`
renews an expired one. The client library is Authlib's requests client; what each provider asks
for is recorded in `PROVIDERS`, from their documentation:

- GitHub: a GitHub App's user-to-server token. Its permissions (Pull requests: read, Metadata:
  read) are set on the app, not requested as scopes; an OAuth App would need the `repo` scope,
  which grants write access too, so the read-only way is the GitHub App. Tokens expire after
  8 hours and come with a refresh token. GitHub Enterprise Server serves the same paths.
- Jira Cloud: OAuth 2.0 (3LO) at auth.atlassian.com with `audience=api.atlassian.com`,
  `prompt=consent` and `offline_access` for a refresh token (which Atlassian rotates on every
  use); the grant reaches sites listed by /oauth/token/accessible-resources, whose REST API is
  then api.atlassian.com/ex/jira/{cloudid}. Jira Data Center has no such flow: a personal access
  token is pasted once instead (`pasted_token`).
- Google Calendar: the web-server flow with the read-only calendar scope, `access_type=offline`
  for a refresh token, `include_granted_scopes=true` (incremental consent) and `prompt=consent`,
  without which Google sends the refresh token only the first time a user consents.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harvester.config import OAuthAppSettings
from harvester.errors import BragError


class ConnectError(BragError):
    """A connection the provider refused or that came back damaged; the message says which and why."""


@dataclass(frozen=True)
class Provider:
    source: str
    label: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    extra: Mapping[str, str] = field(default_factory=dict)
    # how the token endpoint takes the client's credentials
    auth_method: str = "client_secret_post"
    # where the sites a grant reaches are listed (Atlassian), else empty
    resources_url: str = ""


PROVIDERS: Mapping[str, Provider] = {
    "github": Provider(
        source="github",
        label="GitHub",
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        scopes=(),
    ),
    "jira": Provider(
        source="jira",
        label="Jira Cloud",
        authorize_url="https://auth.atlassian.com/authorize",
        token_url="https://auth.atlassian.com/oauth/token",
        scopes=("read:jira-work", "read:jira-user", "offline_access"),
        extra={"audience": "api.atlassian.com", "prompt": "consent"},
        resources_url="https://api.atlassian.com/oauth/token/accessible-resources",
    ),
    "google_calendar": Provider(
        source="google_calendar",
        label="Google Calendar",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scopes=("https://www.googleapis.com/auth/calendar.readonly",),
        extra={"access_type": "offline", "include_granted_scopes": "true", "prompt": "consent"},
    ),
}


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and what the session keeps until the provider sends it back."""

    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class Grant:
    """A connected account: what the source's client needs to harvest, and when it runs out.

    Sealed as a whole in the store (harvester/team/vault.py); `api_url` is where the source's API
    is for this grant (Jira Cloud: the site's api.atlassian.com/ex/jira/{cloudid} address).
    """

    source: str
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    scopes: tuple[str, ...]
    api_url: str = ""
    site: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "scopes": list(self.scopes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Grant:
        return cls(**{**data, "scopes": tuple(data.get("scopes", ()))})

    def expired(self, now: float | None = None, leeway: float = 60) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at - leeway

    def __repr__(self) -> str:
        # tokens never reach a log line or a traceback through a repr
        return f"Grant(source={self.source!r}, scopes={self.scopes!r}, site={self.site!r}, tokens=<hidden>)"


def provider_for(source: str, app: OAuthAppSettings) -> Provider:
    """The provider's endpoints, moved to `app.base_url` when the source is self-hosted or a sandbox."""
    provider = PROVIDERS.get(source)
    if provider is None:
        raise ConnectError(f"{source} has no web flow to connect; choose one of {', '.join(PROVIDERS)}")
    if not app.base_url:
        return provider
    return Provider(
        source=provider.source,
        label=provider.label,
        authorize_url=_moved(provider.authorize_url, app.base_url),
        token_url=_moved(provider.token_url, app.base_url),
        scopes=provider.scopes,
        extra=provider.extra,
        auth_method=provider.auth_method,
        resources_url=_moved(provider.resources_url, app.base_url) if provider.resources_url else "",
    )


def start(provider: Provider, app: OAuthAppSettings, redirect_uri: str) -> Started:
    from authlib.common.security import generate_token

    verifier = generate_token(48)
    url, state = _client(provider, app, redirect_uri).create_authorization_url(
        provider.authorize_url, code_verifier=verifier, **provider.extra
    )
    return Started(url=url, state=state, code_verifier=verifier)


def finish(provider: Provider, app: OAuthAppSettings, redirect_uri: str, callback_url: str, started: Started) -> Grant:
    """The grant from the provider's redirect to `redirect_uri` (the full URL the browser came back to)."""
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.oauth2 import OAuth2Error

    answer = parse_qs(urlsplit(callback_url).query)
    if "error" in answer or "code" not in answer:
        # checked here: given a redirect without a code, Authlib would ask for a client_credentials
        # token instead (the app's own, not the user's)
        error = answer.get("error", ["no code in the redirect"])[0]
        raise ConnectError(f"{provider.label} did not connect: {error}; press Connect to try again")
    client = _client(provider, app, redirect_uri, state=started.state)
    try:
        token = client.fetch_token(
            provider.token_url,
            authorization_response=callback_url,
            code_verifier=started.code_verifier,
            headers={"Accept": "application/json"},
        )
    except (OAuthError, OAuth2Error) as exc:
        # OAuth2Error: the redirect's state is not the one this session sent (a forged callback)
        raise ConnectError(f"{provider.label} did not connect: {exc.error}{_described(exc)}") from None
    grant = _grant(provider, token)
    if provider.resources_url:
        grant = _with_site(provider, app, grant)
    return grant


def refresh(provider: Provider, app: OAuthAppSettings, grant: Grant) -> Grant:
    """A renewed grant; ConnectError when the provider refuses (revoked: the user must reconnect)."""
    from authlib.integrations.base_client.errors import OAuthError

    if not grant.refresh_token:
        raise ConnectError(f"{provider.label} gave no refresh token; reconnect {provider.label}")
    client = _client(provider, app, "")
    try:
        token = client.refresh_token(
            provider.token_url, refresh_token=grant.refresh_token, headers={"Accept": "application/json"}
        )
    except OAuthError as exc:
        raise ConnectError(f"{provider.label} refused to renew the grant: {exc.error}{_described(exc)}") from None
    renewed = _grant(provider, token)
    # Google and GitHub keep the refresh token (the answer may leave it out); Atlassian rotates it
    return Grant(
        source=grant.source,
        access_token=renewed.access_token,
        refresh_token=renewed.refresh_token or grant.refresh_token,
        expires_at=renewed.expires_at,
        scopes=renewed.scopes or grant.scopes,
        api_url=grant.api_url,
        site=grant.site,
    )


def _client(provider: Provider, app: OAuthAppSettings, redirect_uri: str, state: str | None = None) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(
        client_id=app.client_id,
        client_secret=app.client_secret.reveal(),
        token_endpoint_auth_method=provider.auth_method,
        scope=" ".join(provider.scopes) or None,
        redirect_uri=redirect_uri or None,
        state=state,
        code_challenge_method="S256",
        default_timeout=30,
    )


def _grant(provider: Provider, token: Mapping[str, Any]) -> Grant:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise ConnectError(f"{provider.label} answered without an access token")
    expires_at = token.get("expires_at")
    scope = token.get("scope") or ""
    return Grant(
        source=provider.source,
        access_token=access,
        refresh_token=token.get("refresh_token") or None,
        expires_at=float(expires_at) if expires_at is not None else None,
        scopes=tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else tuple(scope),
    )


def _with_site(provider: Provider, app: OAuthAppSettings, grant: Grant) -> Grant:
    """Jira Cloud: the first site the grant reaches, and its API address under api.atlassian.com."""
    import requests

    answer = requests.get(
        provider.resources_url,
        headers={"Authorization": f"Bearer {grant.access_token}", "Accept": "application/json"},
        timeout=30,
    )
    if answer.status_code != 200:
        raise ConnectError(f"{provider.label} did not list the sites of the grant (HTTP {answer.status_code})")
    sites = [site for site in answer.json() if isinstance(site, dict) and site.get("id")]
    if not sites:
        raise ConnectError(f"the {provider.label} grant reaches no Jira site; connect again and pick one")
    site = sites[0]
    api_root = app.base_url or "https://api.atlassian.com"
    return Grant(
        source=grant.source,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        expires_at=grant.expires_at,
        scopes=grant.scopes,
        api_url=f"{api_root}/ex/jira/{site['id']}",
        site=str(site.get("url") or ""),
    )


def pasted_token(source: str, token: str, api_url: str) -> Grant:
    """Jira Data Center: a personal access token the user pastes once (no web flow exists there)."""
    token = token.strip()
    if not token:
        raise ConnectError("paste the personal access token from Jira: Profile → Personal Access Tokens")
    return Grant(source=source, access_token=token, refresh_token=None, expires_at=None, scopes=(), api_url=api_url)


def _moved(url: str, base_url: str) -> str:
    return base_url.rstrip("/") + urlsplit(url).path


def _described(exc: Any) -> str:
    description = getattr(exc, "description", None)
    return f" ({description})" if description else ""
