"""Team mode offline: the source sandboxes with this service's OAuth apps, the identity provider,
and a scripted browser that signs people in and connects their accounts.

`brag demo --team` and the tests run the whole team flow with these, through the same web pages
and the same client libraries a real deployment uses: the browser here is `requests` following
redirects and submitting each page's form, as a person's browser would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

from connectors.github.sandbox import GitHubSandbox
from connectors.google_calendar.sandbox import GoogleCalendarSandbox
from connectors.jira.sandbox import JiraSandbox
from harvester.sandbox.oauth import SandboxClient
from harvester.sandbox.oidc import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OidcSandbox, SandboxPerson
from harvester.sandbox.scenario import Scenario

APP_SECRET = "sandbox-app-secret"
# this service's OAuth app at each source, as [team.<source>] client_id names it
APP_IDS = {
    "github": "Iv1.brag-sandbox",
    "jira": "atlassian-brag-app",
    "google_calendar": "brag.apps.googleusercontent.com",
}
TIMEOUT = 15


@dataclass
class TeamSandboxes:
    github: GitHubSandbox
    jira: JiraSandbox
    google_calendar: GoogleCalendarSandbox
    identity: OidcSandbox

    def server(self, source: str) -> Any:
        return getattr(self, source)

    def register(self, base_url: str) -> None:
        """Register the service at `base_url` with the identity provider and the three sources' OAuth servers."""
        base_url = base_url.rstrip("/")
        self.identity.register_client([f"{base_url}/auth/callback"])
        for source, client_id in APP_IDS.items():
            self.server(source).oauth.register(SandboxClient(client_id, APP_SECRET, (f"{base_url}/connect/callback",)))

    def settings(self, database_url: str, base_url: str, encryption_key: str) -> dict[str, Any]:
        """A team configuration (as parsed TOML) reaching these sandboxes; the source sections hold no token."""
        return {
            "database": {"url": database_url},
            "user": {"name": "service"},
            "web": {"base_url": base_url},
            "github": {"base_url": self.github.base_url},
            "google_calendar": {"api_endpoint": self.google_calendar.calendar_url(), "skip": ["standup", "lunch"]},
            "team": {
                "oidc_issuer": self.identity.issuer,
                "oidc_client_id": DEFAULT_CLIENT_ID,
                "oidc_client_secret": DEFAULT_CLIENT_SECRET,
                "encryption_key": encryption_key,
                **{
                    source: {
                        "client_id": client_id,
                        "client_secret": APP_SECRET,
                        "base_url": self.server(source).base_url,
                    }
                    for source, client_id in APP_IDS.items()
                },
            },
        }


@contextmanager
def team_sandboxes(scenario: Scenario | None = None, *, jira_time_zone: str = "UTC") -> Iterator[TeamSandboxes]:
    # up to the real now: a first harvest reads the weeks before today
    scenario = scenario or Scenario.generate(weeks=2)
    sandboxes = TeamSandboxes(
        GitHubSandbox(scenario),
        JiraSandbox(scenario, time_zone=jira_time_zone),
        GoogleCalendarSandbox(scenario),
        OidcSandbox(),
    )
    with ExitStack() as stack:
        for server in (sandboxes.github, sandboxes.jira, sandboxes.google_calendar, sandboxes.identity):
            stack.enter_context(server)
        yield sandboxes


@dataclass
class _Form:
    action: str
    fields: dict[str, str]
    # (name, value, text) of each button
    buttons: list[tuple[str, str, str]]


class _Forms(HTMLParser):
    """Every form of a page: its action, its inputs' names and values, and its buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(values.get("action", ""), {}, []))
        elif self.forms and tag == "input" and values.get("name") and values.get("type") != "submit":
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif self.forms and tag == "button":
            self._button = [values.get("name", ""), values.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            name, value, text = self._button
            self.forms[-1].buttons.append((name, value, " ".join(text.split())))
            self._button = None


class ScriptedBrowser:
    """One person's browser: cookies, redirects followed, forms submitted by their button's text."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def open(self, url: str) -> requests.Response:
        page = self.session.get(url, timeout=TIMEOUT)
        page.raise_for_status()
        return page

    def press(self, page: requests.Response, button: str, **fields: str) -> requests.Response:
        """Submit the form of `page` whose button's text has `button` in it, with `fields` filled in."""
        parser = _Forms()
        parser.feed(page.text)
        for form in parser.forms:
            for name, value, text in form.buttons:
                if button in text:
                    data = {**form.fields, **fields, **({name: value} if name else {})}
                    answer = self.session.post(urljoin(page.url, form.action or page.url), data=data, timeout=TIMEOUT)
                    answer.raise_for_status()
                    return answer
        raise LookupError(f"no button {button!r} on {page.url}")

    def sign_in(self, base_url: str, person: SandboxPerson) -> requests.Response:
        """Open the site, pick `person` on the identity provider's page; the page signed in."""
        login_page = self.open(f"{base_url.rstrip('/')}/")
        return self.press(login_page, person.email)

    def connect(self, base_url: str, label: str) -> requests.Response:
        """Press Connect on the settings page and Authorize at the provider; the settings page after."""
        settings = self.open(f"{base_url.rstrip('/')}/settings")
        consent = self.press(settings, f"Connect {label}")
        return self.press(consent, "Authorize")
