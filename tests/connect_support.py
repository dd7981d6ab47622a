"""Team mode with accounts to connect: the sandboxes of harvester/sandbox/team.py with the service
registered, a team context on them, and the browser's part of a provider's consent page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

import requests
from signin_support import ENCRYPTION_KEY

from harvester.config import LoadedConfig, parse_settings
from harvester.context import Context
from harvester.sandbox.team import APP_IDS, APP_SECRET, TeamSandboxes, team_sandboxes

__all__ = [
    "APP_IDS",
    "APP_SECRET",
    "TeamSandboxes",
    "connectable_sources",
    "consent",
    "requests_with",
    "team_with_sources",
]


def requests_with(sandboxes: TeamSandboxes, token: str) -> int:
    """Requests any of the three API servers got with `token` in their Authorization header."""
    return sum(
        1
        for server in (sandboxes.github, sandboxes.jira, sandboxes.google_calendar)
        for request in server.requests
        if token in (request.authorization or "")
    )


@contextmanager
def connectable_sources(base_url: str) -> Iterator[TeamSandboxes]:
    """The sandboxes (sources and identity provider), with the service at `base_url` registered."""
    with team_sandboxes() as sandboxes:
        sandboxes.register(base_url)
        yield sandboxes


def team_with_sources(database_url: str, base_url: str, sandboxes: TeamSandboxes) -> Context:
    settings = parse_settings(sandboxes.settings(database_url, base_url, ENCRYPTION_KEY))
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
