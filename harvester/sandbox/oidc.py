"""A sandbox OpenID Connect provider: a few people to sign in as, in the shapes real providers answer.

It lets team mode's sign-in run offline (`brag demo --team`, the tests) against the same Authlib
client a company's provider is reached with. What it reproduces, because the client depends on it:
- discovery at `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, §4), its
  `issuer` exactly the base URL the document is fetched under;
- `/authorize`, the authorization code flow (Core §3.1.2): `client_id` and `redirect_uri` are
  checked first and a wrong one is shown on the page, never redirected to (RFC 6749 §4.1.2.1);
  everything else is answered with `error=` on the redirect, `state` echoed. `response_type=code`,
  `openid` in `scope` and a PKCE `S256` `code_challenge` (RFC 7636) are required. A small login
  page lists the users to pick; `login_hint` (an email or a sub) picks one without the page;
- `/token` (Core §3.1.3): the `authorization_code` grant, the client authenticated by
  `client_secret_basic` or `client_secret_post`, single-use codes bound to the client, the
  redirect URI and the PKCE verifier; the answer carries `access_token`, `token_type` Bearer,
  `expires_in`, and an `id_token` signed RS256 with `iss`, `sub`, `aud`, `exp`, `iat`,
  `auth_time`, `nonce` and `at_hash` (Core §2, §3.1.3.6), `Cache-Control: no-store`;
- `/jwks` with the public signing key, and `/userinfo` for a Bearer access token (Core §5.3).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from harvester.sandbox.server import Request, Response, SandboxServer

DEFAULT_CLIENT_ID = "brag-harvester"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
# how long a code and a token live; real providers use about a minute and an hour
CODE_SECONDS = 60
TOKEN_SECONDS = 3600
SCOPES = ("openid", "email", "profile")


@dataclass(frozen=True)
class SandboxPerson:
    """Someone who can sign in at the sandbox provider."""

    sub: str
    email: str
    name: str


SANDBOX_PEOPLE = (
    SandboxPerson("u-ada", "ada@acme.example", "Ada Lovelace"),
    SandboxPerson("u-grace", "grace@acme.example", "Grace Hopper"),
    SandboxPerson("u-linus", "linus@acme.example", "Linus Pauling"),
)


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uris: frozenset[str]


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    person: SandboxPerson
    scope: str
    nonce: str | None
    code_challenge: str
    expires: float
    auth_time: int


@dataclass(frozen=True)
class _Token:
    person: SandboxPerson
    scope: str
    expires: float


class AuthorizeError(Exception):
    """An authorization request the provider answers with `error=` on the client's redirect."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class _Grants:
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)


class OidcSandbox(SandboxServer):
    """An OpenID Connect provider on 127.0.0.1; its issuer is `base_url`."""

    def __init__(
        self,
        *,
        people: Sequence[SandboxPerson] = SANDBOX_PEOPLE,
        clients: Iterable[Client] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.people = tuple(people)
        self.clients: dict[str, Client] = {client.client_id: client for client in clients}
        self._grants = _Grants()
        self._key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self.route("GET", r"/\.well-known/openid-configuration", self._discovery)
        self.route("GET", r"/authorize", self._authorize)
        self.route("POST", r"/authorize", self._authorize)
        self.route("POST", r"/token", self._token)
        self.route("GET", r"/jwks", self._jwks)
        self.route("GET", r"/userinfo", self._userinfo)
        self.route("POST", r"/userinfo", self._userinfo)

    @property
    def issuer(self) -> str:
        return self.base_url

    def register_client(
        self,
        redirect_uris: Iterable[str],
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> Client:
        """Register (or replace) a relying party, as an operator does in the provider's console."""
        client = Client(client_id, client_secret, frozenset(redirect_uris))
        with self._lock:
            self.clients[client_id] = client
        return client

    def person(self, hint: str) -> SandboxPerson | None:
        return next((p for p in self.people if hint in (p.sub, p.email)), None)

    def _discovery(self, _request: Request, _match: Any) -> Response:
        base = self.issuer
        return Response(
            200,
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "email",
                    "email_verified",
                    "name",
                ],
            },
        )

    def _jwks(self, _request: Request, _match: Any) -> Response:
        return Response(200, {"keys": [self._key.as_dict(private=False)]})

    def _authorize(self, request: Request, _match: Any) -> Response:
        params = _params(request)
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None:
            return _page(400, "Unknown client", "This application is not registered with the sandbox provider.")
        if redirect_uri not in client.redirect_uris:
            return _page(400, "Wrong redirect URI", f"{redirect_uri!r} is not registered for {client.client_id!r}.")
        state = params.get("state")
        try:
            _check_authorization_request(params)
            person = self._who(request, params)
        except AuthorizeError as exc:
            return _redirect(redirect_uri, {"error": exc.error, "error_description": exc.description, "state": state})
        if person is None:
            return self._login_page(params)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants.codes[code] = _Code(
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                person=person,
                scope=params["scope"],
                nonce=params.get("nonce"),
                code_challenge=params["code_challenge"],
                expires=time.time() + CODE_SECONDS,
                auth_time=int(time.time()),
            )
        return _redirect(redirect_uri, {"code": code, "state": state})

    def _who(self, request: Request, params: Mapping[str, str]) -> SandboxPerson | None:
        """The person picked on the login page (a POST), or named by `login_hint`; None shows the page."""
        picked = params.get("person") if request.method == "POST" else params.get("login_hint")
        if not picked:
            return None
        person = self.person(picked)
        if person is None and request.method == "POST":
            raise AuthorizeError("access_denied", "no such sandbox user")
        return person

    def _login_page(self, params: Mapping[str, str]) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in params.items()
            if name != "person"
        )
        buttons = "".join(
            f'<li><button type="submit" name="person" value="{html.escape(p.sub)}">'
            f"{html.escape(p.name)} &lt;{html.escape(p.email)}&gt;</button></li>"
            for p in self.people
        )
        body = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign in · sandbox provider</title>'
            "</head><body><h1>Sign in to the sandbox identity provider</h1>"
            f'<form method="post" action="/authorize">{hidden}<ul>{buttons}</ul></form></body></html>'
        )
        return Response(200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _token(self, request: Request, _match: Any) -> Response:
        form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
        client, basic = self._client(request, form)
        if client is None:
            # RFC 6749 §5.2: 401 with a challenge when the client tried HTTP Basic
            headers = {"WWW-Authenticate": 'Basic realm="sandbox"'} if basic else {}
            return _token_error("invalid_client", "client authentication failed", 401, headers)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type", "only authorization_code is supported")
        with self._lock:
            code = self._grants.codes.pop(form.get("code", ""), None)
        if code is None or code.expires < time.time() or code.client_id != client.client_id:
            return _token_error("invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != code.redirect_uri:
            return _token_error("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = form.get("code_verifier", "")
        if not verifier or _s256(verifier) != code.code_challenge:
            return _token_error("invalid_grant", "code_verifier does not match the code_challenge")
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        with self._lock:
            self._grants.tokens[access_token] = _Token(code.person, code.scope, now + TOKEN_SECONDS)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": code.person.sub,
            "aud": client.client_id,
            "exp": now + TOKEN_SECONDS,
            "iat": now,
            "auth_time": code.auth_time,
            "at_hash": _at_hash(access_token),
            **_claims(code.person, code.scope),
        }
        if code.nonce:
            claims["nonce"] = code.nonce
        id_token = jwt.encode({"alg": "RS256", "kid": self._key.kid}, claims, self._key)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "scope": code.scope,
            "id_token": id_token,
        }
        return Response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client(self, request: Request, form: Mapping[str, str]) -> tuple[Client | None, bool]:
        """The authenticated client (Basic or form credentials), and whether Basic was tried."""
        authorization = request.header("authorization") or ""
        if authorization.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                return None, True
            basic = True
        else:
            client_id, secret, basic = form.get("client_id", ""), form.get("client_secret", ""), False
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, secret):
            return None, basic
        return client, basic

    def _userinfo(self, request: Request, _match: Any) -> Response:
        authorization = request.header("authorization") or ""
        token = self._grants.tokens.get(authorization[7:]) if authorization.startswith("Bearer ") else None
        if token is None or token.expires < time.time():
            challenge = 'Bearer error="invalid_token", error_description="the access token is not valid"'
            return Response(401, {"error": "invalid_token"}, {"WWW-Authenticate": challenge})
        return Response(200, {"sub": token.person.sub, **_claims(token.person, token.scope)})


def _params(request: Request) -> dict[str, str]:
    if request.method == "POST":
        return {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
    return {name: values[0] for name, values in request.query.items()}


def _check_authorization_request(params: Mapping[str, str]) -> None:
    if params.get("response_type") != "code":
        raise AuthorizeError("unsupported_response_type", "only response_type=code is supported")
    if "openid" not in params.get("scope", "").split():
        raise AuthorizeError("invalid_scope", "the scope must contain openid")
    if not params.get("code_challenge"):
        raise AuthorizeError("invalid_request", "PKCE is required: send a code_challenge")
    if params.get("code_challenge_method") != "S256":
        raise AuthorizeError("invalid_request", "code_challenge_method must be S256")


def _claims(person: SandboxPerson, scope: str) -> dict[str, Any]:
    """The standard claims the granted scopes release (Core §5.4)."""
    scopes = scope.split()
    found: dict[str, Any] = {}
    if "email" in scopes:
        found.update(email=person.email, email_verified=True)
    if "profile" in scopes:
        found.update(name=person.name, preferred_username=person.email.split("@")[0])
    return found


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _at_hash(access_token: str) -> str:
    """Core §3.1.3.6: the left half of the token's SHA-256, base64url without padding."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _redirect(uri: str, params: Mapping[str, str | None]) -> Response:
    parts = urlsplit(uri)
    extra = urlencode({name: value for name, value in params.items() if value is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return Response(302, b"", {"Location": urlunsplit(parts._replace(query=query))})


def _token_error(error: str, description: str, status: int = 400, headers: Mapping[str, str] = {}) -> Response:
    body = {"error": error, "error_description": description}
    return Response(status, body, {"Cache-Control": "no-store", "Pragma": "no-cache", **headers})


def _page(status: int, heading: str, message: str) -> Response:
    body = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(heading)}</title></head>'
        f"<body><h1>{html.escape(heading)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return Response(status, body.encode(), {"Content-Type": "text/html; charset=utf-8"})


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m harvester.sandbox.oidc`: the provider in the foreground, to try team sign-in by hand."""
    import argparse

    parser = argparse.ArgumentParser(description="Run the sandbox OpenID Connect provider until interrupted.")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        help="a redirect URI to register (repeatable; default http://127.0.0.1:8765/auth/callback)",
    )
    args = parser.parse_args(argv)
    server = OidcSandbox(port=args.port)
    server.register_client(args.redirect_uri or ["http://127.0.0.1:8765/auth/callback"])
    print(f'[team]\noidc_issuer = "{server.issuer}"\noidc_client_id = "{DEFAULT_CLIENT_ID}"')
    print(f'oidc_client_secret = "{DEFAULT_CLIENT_SECRET}"', flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
