"""Team mode with accounts to connect: the three source sandboxes with their OAuth apps registered,
a team configuration pointing at them, and the browser's part of a provider's consent page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import requests
from signin_support import ENCRYPTION_KEY

from connectors.github.sandbox import GitHubSandbox
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.sandbox import JiraSandbox
from harvester.config import LoadedConfig, parse_settings
from harvester.context import Context
from harvester.sandbox.oauth import SandboxClient
from harvester.sandbox.oidc import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OidcSandbox
from harvester.sandbox.scenario import Scenario

APP_SECRET = "sandbox-app-secret"
APP_IDS = {
    "github": "Iv1.brag-sandbox",
    "jira": "atlassian-brag-app",
    "google_calendar": "brag.apps.googleusercontent.com",
}


@dataclass
class Sources:
    github: GitHubSandbox
    jira: JiraSandbox
    google_calendar: GoogleCalendarSandbox

    def server(self, source: str) -> Any:
        return getattr(self, source)

    def requests_with(self, token: str) -> int:
        """Requests any of the three API servers got with `token` in their Authorization header."""
        return sum(
            1
            for server in (self.github, self.jira, self.google_calendar)
            for request in server.requests
            if token in (request.authorization or "")
        )


@contextmanager
def connectable_sources(redirect_uri: str, scenario: Scenario | None = None) -> Iterator[Sources]:
    """The sandboxes, each with this service's OAuth app registered for `redirect_uri`."""
    # up to the real now: a first harvest reads the weeks before the clock's today
    scenario = scenario or Scenario.generate(weeks=2)
    with ExitStack() as stack:
        sources = Sources(
            stack.enter_context(GitHubSandbox(scenario)),
            stack.enter_context(JiraSandbox(scenario)),
            stack.enter_context(GoogleCalendarSandbox(scenario)),
        )
        for source, client_id in APP_IDS.items():
            sources.server(source).oauth.register(SandboxClient(client_id, APP_SECRET, (redirect_uri,)))
        yield sources


def team_settings(database_url: str, provider: OidcSandbox, base_url: str, sources: Sources) -> dict[str, Any]:
    """A team configuration with sign-in at `provider` and the three sources' apps at the sandboxes.

    The service's source sections hold no credentials: only where the APIs are.
    """
    provider.register_client([f"{base_url}/auth/callback"])
    return {
        "database": {"url": database_url},
        "user": {"name": "service", "timezone": "Europe/Berlin"},
        "web": {"base_url": base_url},
        "github": {"base_url": sources.github.base_url},
        "google_calendar": {"api_endpoint": sources.google_calendar.calendar_url()},
        "team": {
            "oidc_issuer": provider.issuer,
            "oidc_client_id": DEFAULT_CLIENT_ID,
            "oidc_client_secret": DEFAULT_CLIENT_SECRET,
            "encryption_key": ENCRYPTION_KEY,
            **{
                source: {
                    "client_id": client_id,
                    "client_secret": APP_SECRET,
                    "base_url": sources.server(source).base_url,
                }
                for source, client_id in APP_IDS.items()
            },
        },
    }


def team_with_sources(database_url: str, provider: OidcSandbox, base_url: str, sources: Sources) -> Context:
    settings = parse_settings(team_settings(database_url, provider, base_url, sources))
    return Context.open(LoadedConfig(settings=settings, path=None))


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def consent(url: str, decision: str = "allow") -> str:
    """What the user's browser does: open the consent page, press a button; the redirect it gets."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    answer = requests.post(
        url.split("?")[0], data={**form.fields, "decision": decision}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])
