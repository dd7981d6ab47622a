"""OAuth 2.0 authorization-code endpoints for the sandboxes, shaped as GitHub, Atlassian and Google shape them.

Team mode connects each person's accounts through the providers' web flows (docs/team.md); these
endpoints let `brag demo --team` and the tests run those flows offline with the real client
library (Authlib). Each sandbox mounts one `AuthorizationServer` with its provider's paths and
answers; what differs between the providers is recorded where it is handled:

- the authorize page takes `client_id`, `redirect_uri`, `scope`, `state` and, when the client
  sends one, a PKCE `code_challenge` (S256); Google and Atlassian want `response_type=code`,
  GitHub does not ask for it. The page shows the consent form; its POST redirects to
  `redirect_uri` with `code` and `state`, or `error=access_denied`.
- the token endpoint takes the client's credentials in the form body (all three) or HTTP Basic
  (Google and Atlassian), form-encoded (GitHub, Google) or JSON (Atlassian's documented form; it
  also takes a form); GitHub answers form-encoded unless asked for JSON with `Accept`.
- refresh tokens rotate on Atlassian (each use returns a new one) and are kept on Google and GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

from harvester.sandbox.server import Request, Response

Answer = Literal["json", "form_unless_json_accepted"]


@dataclass(frozen=True)
class SandboxClient:
    """An OAuth app registered at the sandbox provider."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    used: bool = False


@dataclass
class Issued:
    """What the token endpoint handed out, so a test can revoke it as a user would at the provider."""

    access_token: str
    refresh_token: str | None
    scope: str
    client_id: str


@dataclass
class AuthorizationServer:
    """The authorization-code grant (with PKCE when the client uses it) and the refresh grant.

    `accept` is called with every access token issued, so the sandbox's API accepts it;
    `forget` with every token revoked or replaced, so it refuses it from then on.
    """

    provider: str
    clients: dict[str, SandboxClient]
    accept: Callable[[str], None]
    forget: Callable[[str], None]
    token_prefix: str
    answer: Answer = "json"
    response_type_required: bool = True
    rotates_refresh_tokens: bool = False
    expires_in: int | None = 3600
    issue_refresh_tokens: bool = True
    _codes: dict[str, _Code] = field(default_factory=dict)
    _refresh: dict[str, Issued] = field(default_factory=dict)
    issued: list[Issued] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, client: SandboxClient) -> SandboxClient:
        """Register an OAuth app (its redirect URIs are known once the app's server has a port)."""
        with self._lock:
            self.clients[client.client_id] = client
        return client

    def authorize_page(self, request: Request) -> Response:
        """GET: the consent page, after the checks a real provider makes before showing it."""
        problem = self._authorize_problem(request.query)
        if problem:
            return _page(400, "Cannot connect", problem)
        fields = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(values[0])}">'
            for name, values in request.query.items()
        )
        client = html.escape(self.clients[request.param("client_id") or ""].client_id)
        scope = html.escape(request.param("scope") or "")
        body = (
            f"<h1>Authorize {client}</h1><p>{html.escape(self.provider)} sandbox: the app asks for "
            f"<code>{scope or 'no scopes'}</code>.</p>"
            f'<form method="post">{fields}<button name="decision" value="allow">Authorize</button> '
            f'<button name="decision" value="deny">Cancel</button></form>'
        )
        return _page(200, f"Authorize {client}", body)

    def authorize_decision(self, request: Request) -> Response:
        """POST: the user's answer, sent back to the app's redirect URI."""
        form = _form(request)
        query = {name: [value] for name, value in form.items()}
        problem = self._authorize_problem(query)
        if problem:
            return _page(400, "Cannot connect", problem)
        redirect_uri, state = form["redirect_uri"], form.get("state")
        if form.get("decision") != "allow":
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = _Code(
                form["client_id"], redirect_uri, form.get("scope", ""), form.get("code_challenge")
            )
        return _redirect(redirect_uri, {"code": code, "state": state})

    def token(self, request: Request) -> Response:
        form = _form(request)
        client = self._client(request, form)
        if client is None:
            status, body = _error(401, "invalid_client", "Client authentication failed.")
        elif (grant := form.get("grant_type")) == "authorization_code":
            status, body = self._exchange(client, form)
        elif grant == "refresh_token":
            status, body = self._refreshed(client, form.get("refresh_token", ""))
        else:
            status, body = _error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        if self.answer == "json" or "application/json" in (request.header("accept") or ""):
            return Response(status, body)
        # GitHub: form-encoded unless asked for JSON, and a failed exchange is a 200 with the error
        # in the body, as its docs show
        return Response(
            200 if "error" in body else status,
            urlencode({k: v for k, v in body.items() if v is not None}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )

    def revoke(self, issued: Issued) -> None:
        """Revoke a grant, as the user does in the provider's settings: its tokens stop working."""
        with self._lock:
            self.forget(issued.access_token)
            if issued.refresh_token:
                self._refresh.pop(issued.refresh_token, None)

    def _authorize_problem(self, query: Mapping[str, list[str]]) -> str | None:
        def param(name: str) -> str:
            values = query.get(name)
            return values[0] if values else ""

        client = self.clients.get(param("client_id"))
        if client is None:
            return "The client_id is not registered with this provider."
        if param("redirect_uri") not in client.redirect_uris:
            return "The redirect_uri is not registered for this client."
        if self.response_type_required and param("response_type") != "code":
            return "response_type must be code."
        if param("code_challenge") and param("code_challenge_method") != "S256":
            return "code_challenge_method must be S256."
        return None

    def _client(self, request: Request, form: Mapping[str, str]) -> SandboxClient | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, credential = (request.header("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(credential).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
        client = self.clients.get(client_id or "")
        return client if client is not None and secrets.compare_digest(client.client_secret, secret or "") else None

    def _exchange(self, client: SandboxClient, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.used or code.client_id != client.client_id:
                return _error(400, "invalid_grant", "The code is invalid, expired or already used.")
            if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
                return _error(400, "invalid_grant", "redirect_uri does not match the authorization request.")
            if code.challenge is not None and _challenge(form.get("code_verifier", "")) != code.challenge:
                return _error(400, "invalid_grant", "The code_verifier does not match the code_challenge.")
            code.used = True
            return 200, self._body(self._issue(client, code.scope))

    def _refreshed(self, client: SandboxClient, refresh_token: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            before = self._refresh.get(refresh_token)
            if before is None or before.client_id != client.client_id:
                return _error(400, "invalid_grant", "The refresh token is invalid, expired or revoked.")
            self.forget(before.access_token)
            if self.rotates_refresh_tokens:
                del self._refresh[refresh_token]
                return 200, self._body(self._issue(client, before.scope))
            access = f"{self.token_prefix}{next(self._counter)}"
            self.accept(access)
            before.access_token = access
            return 200, self._body(before)

    def _issue(self, client: SandboxClient, scope: str) -> Issued:
        number = next(self._counter)
        refresh = f"{self.token_prefix}refresh-{number}" if self.issue_refresh_tokens else None
        issued = Issued(f"{self.token_prefix}{number}", refresh, scope, client.client_id)
        self.accept(issued.access_token)
        if refresh:
            self._refresh[refresh] = issued
        self.issued.append(issued)
        return issued

    def _body(self, issued: Issued) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": issued.access_token, "token_type": "bearer", "scope": issued.scope}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        if issued.refresh_token:
            body["refresh_token"] = issued.refresh_token
        return body


def _error(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "error_description": description}


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _form(request: Request) -> dict[str, str]:
    if "json" in (request.header("content-type") or ""):
        data = request.json()
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {key: values[0] for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def _redirect(uri: str, params: Mapping[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return Response(302, b"", {"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})


def _page(status: int, title: str, body: str) -> Response:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>{body}</body></html>'
    )
    return Response(status, document.encode(), {"Content-Type": "text/html; charset=utf-8"})
