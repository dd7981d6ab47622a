"""The sandbox OpenID Connect provider answers as the Core and Discovery specs say, refusing what they refuse."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from harvester.sandbox.oidc import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SANDBOX_PEOPLE, OidcSandbox

REDIRECT = "http://127.0.0.1:9/auth/callback"
ADA = SANDBOX_PEOPLE[0]


@pytest.fixture
def provider() -> Iterator[OidcSandbox]:
    with OidcSandbox() as server:
        server.register_client([REDIRECT])
        yield server


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize(provider: OidcSandbox, **overrides: str) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge("v" * 43),
        "code_challenge_method": "S256",
        "login_hint": ADA.email,
        **overrides,
    }
    return requests.get(f"{provider.base_url}/authorize", params=params, allow_redirects=False, timeout=10)


def redirected(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def exchange(provider: OidcSandbox, code: str, verifier: str = "v" * 43, **extra: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    return requests.post(
        f"{provider.base_url}/token",
        data={**form, **extra},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET) if "client_id" not in extra else None,
        timeout=10,
    )


def test_discovery_names_the_endpoints_under_its_own_issuer(provider: OidcSandbox) -> None:
    found = requests.get(f"{provider.base_url}/.well-known/openid-configuration", timeout=10).json()
    assert found["issuer"] == provider.base_url
    for name, path in (("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"), ("jwks_uri", "/jwks")):
        assert found[name] == provider.base_url + path
    assert found["userinfo_endpoint"] == provider.base_url + "/userinfo"
    assert found["response_types_supported"] == ["code"]
    assert found["subject_types_supported"] == ["public"]
    assert found["id_token_signing_alg_values_supported"] == ["RS256"]
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert set(found["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}


def test_code_flow_gives_a_signed_id_token_with_the_nonce_and_a_userinfo_token(provider: OidcSandbox) -> None:
    answer = redirected(authorize(provider))
    assert answer["state"] == "st-1"
    response = exchange(provider, answer["code"])
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 0
    keys = KeySet.import_key_set(requests.get(f"{provider.base_url}/jwks", timeout=10).json())
    assert all("d" not in key.as_dict() for key in keys)
    claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == DEFAULT_CLIENT_ID
    assert claims["sub"] == ADA.sub
    assert claims["nonce"] == "n-1"
    assert claims["email"] == ADA.email
    assert claims["exp"] > claims["iat"]
    info = requests.get(
        f"{provider.base_url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert info.json() == {
        "sub": ADA.sub,
        "email": ADA.email,
        "email_verified": True,
        "name": ADA.name,
        "preferred_username": "ada",
    }


def test_client_secret_post_authenticates_too(provider: OidcSandbox) -> None:
    code = redirected(authorize(provider))["code"]
    response = exchange(provider, code, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
    assert response.status_code == 200, response.text


def test_a_code_works_once(provider: OidcSandbox) -> None:
    code = redirected(authorize(provider))["code"]
    assert exchange(provider, code).status_code == 200
    again = exchange(provider, code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_a_wrong_code_verifier_is_refused(provider: OidcSandbox) -> None:
    code = redirected(authorize(provider))["code"]
    response = exchange(provider, code, verifier="w" * 43)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_wrong_client_secret_is_refused_with_a_basic_challenge(provider: OidcSandbox) -> None:
    code = redirected(authorize(provider))["code"]
    response = requests.post(
        f"{provider.base_url}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": "v" * 43},
        auth=(DEFAULT_CLIENT_ID, "guessed"),
        timeout=10,
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "email profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorization_errors_go_back_on_the_redirect_with_the_state(
    provider: OidcSandbox, override: dict[str, str], error: str
) -> None:
    answer = redirected(authorize(provider, **override))
    assert answer["error"] == error
    assert answer["state"] == "st-1"
    assert "code" not in answer


@pytest.mark.parametrize("override", [{"redirect_uri": "http://evil.example/cb"}, {"client_id": "someone-else"}])
def test_an_unknown_client_or_redirect_uri_is_never_redirected_to(
    provider: OidcSandbox, override: dict[str, str]
) -> None:
    response = authorize(provider, **override)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_without_a_hint_the_login_page_lists_the_people_and_picking_one_signs_in(provider: OidcSandbox) -> None:
    page = authorize(provider, login_hint="")
    assert page.status_code == 200
    assert all(person.email in page.text for person in SANDBOX_PEOPLE)
    form = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "st-2",
        "code_challenge": challenge("v" * 43),
        "code_challenge_method": "S256",
        "person": SANDBOX_PEOPLE[1].sub,
    }
    answer = redirected(requests.post(f"{provider.base_url}/authorize", data=form, allow_redirects=False, timeout=10))
    token = exchange(provider, answer["code"]).json()
    info = requests.get(
        f"{provider.base_url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    ).json()
    # scope openid alone releases no email or profile claims
    assert info == {"sub": SANDBOX_PEOPLE[1].sub}


def test_userinfo_refuses_an_unknown_token(provider: OidcSandbox) -> None:
    response = requests.get(
        f"{provider.base_url}/userinfo", headers={"Authorization": f"Bearer {secrets.token_urlsafe(8)}"}, timeout=10
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
