"""GitHub as the identity, where the company has no OpenID Connect provider (`github_sign_in = true`)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from connect_support import APP_IDS, APP_SECRET, consent
from signin_support import ENCRYPTION_KEY

from connectors.github.sandbox import GitHubSandbox
from harvester.config import LoadedConfig, parse_settings
from harvester.context import Context
from harvester.sandbox.oauth import SandboxClient
from harvester.sandbox.scenario import Scenario
from harvester.store.models import User
from harvester.team.checks import check_sign_in
from harvester.web import create_app
from harvester.web.signin import SESSION_USER

BASE_URL = "http://localhost"


@pytest.fixture
def github() -> Iterator[GitHubSandbox]:
    with GitHubSandbox(Scenario.generate(weeks=1)) as server:
        server.oauth.register(SandboxClient(APP_IDS["github"], APP_SECRET, (f"{BASE_URL}/auth/callback",)))
        yield server


def github_team(database_url: str, github: GitHubSandbox) -> Context:
    settings = parse_settings(
        {
            "database": {"url": database_url},
            "web": {"base_url": BASE_URL},
            "github": {"base_url": github.base_url},
            "team": {
                "github_sign_in": True,
                "encryption_key": ENCRYPTION_KEY,
                "github": {"client_id": APP_IDS["github"], "client_secret": APP_SECRET, "base_url": github.base_url},
            },
        }
    )
    return Context.open(LoadedConfig(settings=settings, path=None))


def test_signing_in_with_github_makes_the_user_from_their_account_id(team_database: str, github: GitHubSandbox) -> None:
    context = github_team(team_database, github)
    assert check_sign_in(context.config.settings.team).ok  # type: ignore[arg-type]
    with create_app(context).test_client() as client:
        started = client.get("/login?next=/doc")
        authorize = started.headers["Location"]
        assert authorize.startswith(f"{github.base_url}/login/oauth/authorize")
        query = parse_qs(urlsplit(authorize).query)
        assert query["client_id"] == [APP_IDS["github"]] and query["code_challenge_method"] == ["S256"]
        back = urlsplit(consent(authorize))
        landed = client.get(f"{back.path}?{back.query}")
        assert landed.status_code == 302 and landed.headers["Location"] == "/doc"
        with client.session_transaction() as session:
            user_id = session[SESSION_USER]
        assert client.get("/doc").status_code == 200
    with context.sessions() as db:
        user = db.get(User, user_id)
        assert user is not None
        expected = github.user_json(github.scenario.login, private=True)
        assert user.subject == f"github {expected['id']}"
        assert user.display_name == (expected.get("name") or github.scenario.login)


def test_a_forged_state_signs_nobody_in(team_database: str, github: GitHubSandbox) -> None:
    context = github_team(team_database, github)
    with create_app(context).test_client() as client:
        authorize = client.get("/login").headers["Location"]
        back = consent(authorize).replace("state=", "state=forged")
        parts = urlsplit(back)
        refused = client.get(f"{parts.path}?{parts.query}")
        assert refused.status_code == 400
        with client.session_transaction() as session:
            assert SESSION_USER not in session


def test_github_sign_in_without_the_github_app_is_reported_by_team_init(team_database: str) -> None:
    settings = parse_settings(
        {"database": {"url": team_database}, "team": {"github_sign_in": True, "encryption_key": ENCRYPTION_KEY}}
    )
    check = check_sign_in(settings.team)  # type: ignore[arg-type]
    assert not check.ok and "[team.github]" in check.detail
