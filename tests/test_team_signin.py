"""Team mode's sign-in: the real Authlib client against the sandbox provider, in-process (PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from review_support import NOW, open_context
from signin_support import add_user, callback, csrf_token, pick_at_provider, sign_in, start_sign_in, team_context
from signin_support import provider as provider
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from harvester.context import Context
from harvester.sandbox.oidc import SANDBOX_PEOPLE, OidcSandbox
from harvester.store.models import User
from harvester.web import create_app
from harvester.web.signin import SESSION_USER

ADA, GRACE = SANDBOX_PEOPLE[:2]


@pytest.fixture
def context(team_database: str, provider: OidcSandbox) -> Context:
    return team_context(team_database, provider)


@pytest.fixture
def web(context: Context) -> Flask:
    return create_app(context, now=lambda: NOW)


@pytest.fixture
def client(web: Flask) -> Iterator[FlaskClient]:
    with web.test_client() as client:
        yield client


def user(context: Context, sub: str, issuer: str) -> User | None:
    with context.sessions() as session:
        return session.scalars(select(User).where(User.subject == f"{issuer} {sub}")).one_or_none()


def signed_in_id(client: FlaskClient) -> int | None:
    with client.session_transaction() as session:
        found = session.get(SESSION_USER)
    return found if isinstance(found, int) else None


def test_signing_in_creates_the_user_and_keeps_their_id_in_the_session(
    client: FlaskClient, context: Context, provider: OidcSandbox
) -> None:
    response = sign_in(client, ADA)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    found = user(context, ADA.sub, provider.issuer)
    assert found is not None
    assert (found.email, found.display_name) == (ADA.email, ADA.name)
    assert signed_in_id(client) == found.id
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert ADA.name in page.get_data(as_text=True)
    # the code was exchanged with client authentication and the key set fetched to check the ID token
    assert provider.count("/token", "POST") == 1
    assert provider.count("/jwks") == 1


def test_the_authorization_request_uses_pkce_s256_a_nonce_and_the_registered_callback(client: FlaskClient) -> None:
    query = parse_qs(urlsplit(start_sign_in(client)).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0]
    assert query["redirect_uri"] == ["http://localhost/auth/callback"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}


def test_a_page_asked_for_signed_out_opens_after_sign_in(client: FlaskClient) -> None:
    response = client.get("/week/2026-W45")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/week/2026-W45"
    authorize = client.get(response.headers["Location"]).headers["Location"]
    landed = callback(client, pick_at_provider(authorize, ADA))
    assert landed.headers["Location"] == "/week/2026-W45"


def test_a_tampered_state_is_refused(client: FlaskClient, context: Context, provider: OidcSandbox) -> None:
    back = urlsplit(pick_at_provider(start_sign_in(client), ADA))
    query = {name: values[0] for name, values in parse_qs(back.query).items()}
    query["state"] = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
    response = client.get(f"{back.path}?{urlencode(query)}")
    assert response.status_code == 400
    assert "Sign-in did not complete" in response.get_data(as_text=True)
    assert signed_in_id(client) is None
    assert user(context, ADA.sub, provider.issuer) is None
    # the code was never even exchanged
    assert provider.count("/token") == 0


def test_an_id_token_with_another_nonce_is_refused(
    client: FlaskClient, context: Context, provider: OidcSandbox
) -> None:
    """A code obtained for the app's PKCE challenge but with someone else's nonce (an injected code)."""
    ours = {name: values[0] for name, values in parse_qs(urlsplit(start_sign_in(client)).query).items()}
    injected = requests.get(
        f"{provider.base_url}/authorize",
        params={**ours, "nonce": "the-attackers-nonce", "login_hint": ADA.email},
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(injected.headers["Location"]).query)["code"][0]
    response = client.get(f"/auth/callback?{urlencode({'code': code, 'state': ours['state']})}")
    assert provider.count("/token") == 1
    assert response.status_code == 400
    assert "nonce" in response.get_data(as_text=True)
    assert signed_in_id(client) is None


def test_the_providers_refusal_is_shown_and_signs_nobody_in(client: FlaskClient) -> None:
    state = parse_qs(urlsplit(start_sign_in(client)).query)["state"][0]
    response = client.get(f"/auth/callback?error=access_denied&error_description=nope&state={state}")
    assert response.status_code == 400
    assert signed_in_id(client) is None


def test_a_disabled_user_cannot_sign_in(client: FlaskClient, context: Context, provider: OidcSandbox) -> None:
    sign_in(client, ADA)
    found = user(context, ADA.sub, provider.issuer)
    assert found is not None
    with context.sessions.begin() as session:
        session.get(User, found.id).disabled_at = datetime.now(UTC)  # type: ignore[union-attr]
    # the session they had ends at their next request
    assert client.get("/week/2026-W46").headers["Location"].startswith("/login")
    assert signed_in_id(client) is None
    response = sign_in(client, ADA)
    assert response.status_code == 403
    assert "disabled" in response.get_data(as_text=True)
    assert signed_in_id(client) is None


def test_signing_out_ends_the_session(client: FlaskClient) -> None:
    sign_in(client, ADA)
    assert client.get("/week/2026-W46").status_code == 200
    assert client.post("/logout").status_code == 400  # without the form's CSRF token
    assert client.get("/week/2026-W46").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200
    assert "signed out" in response.get_data(as_text=True)
    assert client.get("/week/2026-W46").headers["Location"].startswith("/login")


def test_two_people_get_two_users(web: Flask, context: Context, provider: OidcSandbox) -> None:
    with web.test_client() as first, web.test_client() as second:
        sign_in(first, ADA)
        sign_in(second, GRACE)
        assert signed_in_id(first) != signed_in_id(second)
        assert {signed_in_id(first), signed_in_id(second)} == {
            user(context, ADA.sub, provider.issuer).id,  # type: ignore[union-attr]
            user(context, GRACE.sub, provider.issuer).id,  # type: ignore[union-attr]
        }


def test_healthz_answers_ok_without_sign_in_and_503_without_a_database(client: FlaskClient, context: Context) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    context.sessions = sessionmaker(create_engine("postgresql+psycopg://nobody:x@127.0.0.1:1/none"))
    response = client.get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "database unavailable")


def test_an_unreachable_provider_is_a_502_page(team_database: str) -> None:
    with OidcSandbox() as gone:
        context = team_context(team_database, gone)
    with create_app(context).test_client() as client:
        response = client.get("/login")
    assert response.status_code == 502
    assert "did not answer" in response.get_data(as_text=True)


def test_single_user_mode_has_no_sign_in(tmp_path: object) -> None:
    context = open_context(f"sqlite:///{tmp_path}/brag.db")
    with create_app(context, now=lambda: NOW).test_client() as client:
        assert client.get("/login").status_code == 404
        assert client.get("/auth/callback").status_code == 404
        assert client.get("/week/2026-W46").status_code == 200


def test_a_next_that_leaves_the_site_is_ignored(client: FlaskClient) -> None:
    client.get("/login?next=//evil.example/steal")
    authorize = start_sign_in(client)
    assert urlsplit(callback(client, pick_at_provider(authorize, ADA)).headers["Location"]).path == "/"


@pytest.mark.parametrize(("zone", "week"), [(None, "2026-W48"), ("America/New_York", "2026-W47")])
def test_weeks_are_read_in_the_users_own_time_zone(
    context: Context, provider: OidcSandbox, zone: str | None, week: str
) -> None:
    """Sunday 23:30 UTC is already Monday of the next week in Berlin (the service's zone), not in New York."""
    ada = add_user(context, provider, ADA)
    with context.sessions.begin() as session:
        session.get(User, ada.id).timezone = zone  # type: ignore[union-attr]
    sunday_night = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    with create_app(context, now=lambda: sunday_night).test_client() as client:
        sign_in(client, ADA)
        assert client.get("/").headers["Location"] == f"/week/{week}"


def test_a_provider_that_stops_answering_is_a_502_page_not_a_hung_worker(
    context: Context, provider: OidcSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harvester.web.signin.PROVIDER_TIMEOUT_SECONDS", 0.5)
    provider.inject(0, delay=3, path_contains="/.well-known/")
    started = time.monotonic()
    with create_app(context).test_client() as client:
        response = client.get("/login")
    assert response.status_code == 502
    assert time.monotonic() - started < 2.5
