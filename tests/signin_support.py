"""Team mode under test: PostgreSQL, the sandbox OpenID Connect provider, and signing in through it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from harvester.config import LoadedConfig, parse_settings
from harvester.context import Context
from harvester.sandbox.oidc import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OidcSandbox, SandboxPerson
from harvester.store.accounts import find_or_create_user_by_subject
from harvester.store.models import User

# a Fernet key (urlsafe base64 of 32 bytes); sign-in never reads it, the settings require it
ENCRYPTION_KEY = "x" * 43 + "="


@pytest.fixture
def provider() -> Iterator[OidcSandbox]:
    with OidcSandbox() as server:
        yield server


def team_context(database_url: str, provider: OidcSandbox, base_url: str = "http://localhost") -> Context:
    """A team-mode context whose client is registered at `provider` with `<base_url>/auth/callback`."""
    provider.register_client([f"{base_url}/auth/callback"])
    settings = parse_settings(
        {
            "database": {"url": database_url},
            "user": {"name": "me", "timezone": "Europe/Berlin"},
            "web": {"base_url": base_url},
            "team": {
                "oidc_issuer": provider.issuer,
                "oidc_client_id": DEFAULT_CLIENT_ID,
                "oidc_client_secret": DEFAULT_CLIENT_SECRET,
                "encryption_key": ENCRYPTION_KEY,
            },
        }
    )
    return Context.open(LoadedConfig(settings=settings, path=None))


def add_user(context: Context, provider: OidcSandbox, person: SandboxPerson) -> User:
    """The user `person` becomes on first sign-in, made ahead so a test can give them data."""
    with context.sessions.begin() as session:
        user = find_or_create_user_by_subject(session, f"{provider.issuer} {person.sub}", person.email, person.name)
        session.expunge(user)
    return user


class _Form(HTMLParser):
    """The hidden fields of the provider's login page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[found["name"] or ""] = found.get("value") or ""


def pick_at_provider(authorize_url: str, person: SandboxPerson) -> str:
    """Open the provider's login page as a browser would, pick `person`; the callback URL it sends back."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    assert person.email in page.text
    form = _Form()
    form.feed(page.text)
    action = f"{urlsplit(authorize_url).scheme}://{urlsplit(authorize_url).netloc}/authorize"
    answer = requests.post(action, data={**form.fields, "person": person.sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start_sign_in(client: FlaskClient) -> str:
    """GET /login; the provider's authorization URL it redirects to."""
    response = client.get("/login")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def callback(client: FlaskClient, callback_url: str) -> TestResponse:
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: FlaskClient, person: SandboxPerson) -> TestResponse:
    """The whole flow: /login, the provider's page, the callback (Authlib exchanges the code)."""
    return callback(client, pick_at_provider(start_sign_in(client), person))


def csrf_token(client: FlaskClient, path: str = "/logout") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)
