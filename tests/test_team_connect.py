"""Connecting accounts in team mode: each provider's web flow through Authlib against the sandboxes.

The browser's part (the consent page and its form) is played with `requests`; the app's part is
harvester.team.connect with the real Authlib client. The grant it returns is then used with the
source's own client library, as the harvest will use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from connect_support import consent
from github import Auth, Github
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from jira import JIRA

from connectors.github.sandbox import GitHubSandbox
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.sandbox import JiraSandbox
from harvester.config import OAuthAppSettings
from harvester.sandbox.oauth import AuthorizationServer, SandboxClient
from harvester.sandbox.scenario import Scenario
from harvester.secrets import Secret
from harvester.team import connect

REDIRECT = "http://127.0.0.1:8765/connect/callback"
SECRET = "sandbox-app-secret"


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.generate(datetime(2026, 11, 20, 12, tzinfo=UTC), weeks=1)


def app_for(server: Any, oauth: AuthorizationServer, client_id: str) -> OAuthAppSettings:
    oauth.register(SandboxClient(client_id, SECRET, (REDIRECT,)))
    return OAuthAppSettings(client_id=client_id, client_secret=Secret(SECRET), base_url=server.base_url)


@pytest.fixture
def github(scenario: Scenario) -> Iterator[GitHubSandbox]:
    with GitHubSandbox(scenario) as server:
        yield server


@pytest.fixture
def jira(scenario: Scenario) -> Iterator[JiraSandbox]:
    with JiraSandbox(scenario) as server:
        yield server


@pytest.fixture
def google(scenario: Scenario) -> Iterator[GoogleCalendarSandbox]:
    with GoogleCalendarSandbox(scenario) as server:
        yield server


def connected(source: str, server: Any, client_id: str) -> tuple[connect.Grant, connect.Provider, OAuthAppSettings]:
    app = app_for(server, server.oauth, client_id)
    provider = connect.provider_for(source, app)
    started = connect.start(provider, app, REDIRECT)
    return connect.finish(provider, app, REDIRECT, consent(started.url), started), provider, app


def test_github_connects_with_pkce_and_state_and_the_token_reads_the_api(github: GitHubSandbox) -> None:
    app = app_for(github, github.oauth, "Iv1.sandbox")
    provider = connect.provider_for("github", app)
    started = connect.start(provider, app, REDIRECT)
    query = parse_qs(urlsplit(started.url).query)
    assert query["state"] == [started.state] and query["code_challenge_method"] == ["S256"]
    assert "scope" not in query  # a GitHub App's permissions are the app's, not requested scopes
    grant = connect.finish(provider, app, REDIRECT, consent(started.url), started)
    assert grant.access_token.startswith("ghu_") and grant.refresh_token and grant.expires_at
    client = Github(auth=Auth.Token(grant.access_token), base_url=github.base_url)
    assert client.get_user().login == github.scenario.login
    assert grant.access_token not in repr(grant) and str(grant.refresh_token) not in repr(grant)


def test_jira_cloud_connects_and_reaches_the_site_through_api_atlassian(jira: JiraSandbox) -> None:
    grant, _, _ = connected("jira", jira, "atlassian-sandbox-app")
    assert grant.scopes == ("read:jira-work", "read:jira-user", "offline_access")
    assert grant.api_url == f"{jira.base_url}/ex/jira/{jira.cloud_id}"
    client = JIRA(grant.api_url, token_auth=grant.access_token, max_retries=0)
    assert client.myself()["emailAddress"] == jira.scenario.email


def test_google_asks_for_offline_read_only_access_with_incremental_consent(google: GoogleCalendarSandbox) -> None:
    app = app_for(google, google.oauth, "web-app.apps.googleusercontent.com")
    provider = connect.provider_for("google_calendar", app)
    started = connect.start(provider, app, REDIRECT)
    query = parse_qs(urlsplit(started.url).query)
    assert query["scope"] == ["https://www.googleapis.com/auth/calendar.readonly"]
    assert query["access_type"] == ["offline"] and query["include_granted_scopes"] == ["true"]
    grant = connect.finish(provider, app, REDIRECT, consent(started.url), started)
    service = build(
        "calendar",
        "v3",
        credentials=Credentials(grant.access_token),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": google.calendar_url()},
    )
    listed = service.events().list(calendarId="primary", singleEvents=True, maxResults=10).execute()
    assert listed["kind"] == "calendar#events"


@pytest.mark.parametrize("source", ["github", "jira", "google_calendar"])
def test_a_grant_is_renewed_and_a_revoked_one_says_to_reconnect(
    source: str, github: GitHubSandbox, jira: JiraSandbox, google: GoogleCalendarSandbox
) -> None:
    server: Any = {"github": github, "jira": jira, "google_calendar": google}[source]
    grant, provider, app = connected(source, server, f"{source}-app")
    renewed = connect.refresh(provider, app, grant)
    assert renewed.access_token != grant.access_token and renewed.api_url == grant.api_url
    assert renewed.refresh_token
    # the user revokes the app at the provider (its latest grant: Atlassian issued a new one on refresh)
    server.oauth.revoke(server.oauth.issued[-1])
    with pytest.raises(connect.ConnectError, match=rf"{re.escape(provider.label)} refused to renew"):
        connect.refresh(provider, app, renewed)


def test_a_tampered_state_or_a_wrong_verifier_is_refused(github: GitHubSandbox) -> None:
    app = app_for(github, github.oauth, "Iv1.sandbox")
    provider = connect.provider_for("github", app)
    started = connect.start(provider, app, REDIRECT)
    back = consent(started.url)
    forged = re.sub(r"state=[^&]+", "state=forged", back)
    with pytest.raises(connect.ConnectError, match="mismatching_state"):
        connect.finish(provider, app, REDIRECT, forged, started)
    other = connect.start(provider, app, REDIRECT)
    wrong_verifier = connect.Started(started.url, started.state, other.code_verifier)
    with pytest.raises(connect.ConnectError, match="invalid_grant"):
        connect.finish(provider, app, REDIRECT, back, wrong_verifier)


def test_a_denied_consent_connects_nothing(github: GitHubSandbox) -> None:
    app = app_for(github, github.oauth, "Iv1.sandbox")
    provider = connect.provider_for("github", app)
    started = connect.start(provider, app, REDIRECT)
    back = consent(started.url, decision="deny")
    assert "error=access_denied" in back
    with pytest.raises(connect.ConnectError, match="access_denied"):
        connect.finish(provider, app, REDIRECT, back, started)
    assert github.oauth.issued == []


def test_an_unregistered_redirect_uri_gets_no_consent_page(github: GitHubSandbox) -> None:
    app = app_for(github, github.oauth, "Iv1.sandbox")
    started = connect.start(connect.provider_for("github", app), app, "http://evil.example/callback")
    assert requests.get(started.url, timeout=10).status_code == 400
