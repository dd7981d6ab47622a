"""Who is asking: team mode's sign-in over OpenID Connect, and the user every query is scoped to.

In single-user mode nothing here runs except `current_user_id` and `current_zone`, which answer
the configured user and zone as the app always did. In team mode (`[team]` set) a person signs in at the
company's identity provider through Authlib's Flask client (discovery, PKCE S256; Authlib checks
`state` against this browser's session and `nonce` inside the ID token), and the signed session
cookie then holds their user id; every other page sends them to /login first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from harvester.config import TeamSettings
from harvester.store.accounts import find_or_create_user_by_subject
from harvester.store.models import User
from harvester.timeutil import zone_named
from harvester.web.app import current_site

log = logging.getLogger(__name__)

SESSION_USER = "user_id"
SESSION_NEXT = "signin_next"
PROVIDER = "oidc"
GITHUB = "github"
PROVIDER_TIMEOUT_SECONDS = 10
# reached without a session: the sign-in itself, the orchestrator's probe, and the pages email
# links open (their signed token is the proof; only what they show is rendered, nothing acts)
OPEN_ENDPOINTS = frozenset({"signin.login", "signin.callback", "pages.healthz", "static"})
OPEN_GET_ENDPOINTS = frozenset({"pages.review_link", "pages.unsubscribe_page"})
# RFC 8058 one-click unsubscribes are POSTed by the mailbox provider, which has no session
OPEN_POST_ENDPOINTS = frozenset({"pages.unsubscribe"})

signin = Blueprint("signin", __name__)


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    # what review and unsubscribe links name the user by (`User.name`)
    name: str
    display_name: str
    zone: tzinfo


def team_mode() -> bool:
    return current_site().context.config.settings.team is not None


def signed_in() -> SignedIn | None:
    """The person this request's session belongs to (team mode), or None."""
    found: SignedIn | None = g.get("signed_in")
    return found


def current_user_id() -> int:
    """The user every query of this request is scoped to: the signed-in one, or the configured one."""
    if not team_mode():
        return current_site().context.user_id
    person = signed_in()
    if person is None:
        # the sign-in guard runs first, so only an open endpoint can get here
        abort(404)
    return person.user_id


def current_zone() -> tzinfo:
    """The time zone weeks and dates are read in: the signed-in user's own, else the configured one."""
    person = signed_in() if team_mode() else None
    return person.zone if person is not None else current_site().context.zone


def init_signin(web: Flask, team: TeamSettings, base_url: str, github_api_url: str = "") -> None:
    """Add sign-in to the app: the provider's client, the routes, and the guard every request passes."""
    oauth = OAuth(web)
    if team.oidc_issuer and team.oidc_client_id:
        secret = team.oidc_client_secret.reveal() if team.oidc_client_secret else None
        oauth.register(
            PROVIDER,
            client_id=team.oidc_client_id,
            client_secret=secret,
            server_metadata_url=f"{team.oidc_issuer}/.well-known/openid-configuration",
            # a provider that stops answering must not hold a web worker (requests waits forever by default)
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "default_timeout": PROVIDER_TIMEOUT_SECONDS,
            },
        )
    elif team.github_sign_in and team.github is not None:
        _register_github(oauth, team, github_api_url)
    web.extensions["brag.oauth"] = oauth
    web.config["BRAG_CALLBACK_URL"] = f"{base_url.rstrip('/')}/auth/callback"
    if base_url.startswith("https://"):
        web.config["SESSION_COOKIE_SECURE"] = True
    web.register_blueprint(signin)


def _register_github(oauth: OAuth, team: TeamSettings, api: str) -> None:
    """GitHub as the identity, where the company has no OIDC provider: its OAuth web flow, then GET /user.

    GitHub is no OpenID provider (no ID token, no discovery), so the identity is the account's
    numeric id from GET /user: a login can be renamed, the id never changes. The same app serves
    the settings page's Connect button; a GitHub App's user token needs no scope to read /user.
    """
    app = team.github
    assert app is not None
    site = app.base_url or "https://github.com"
    oauth.register(
        GITHUB,
        client_id=app.client_id,
        client_secret=app.client_secret.reveal(),
        authorize_url=f"{site}/login/oauth/authorize",
        access_token_url=f"{site}/login/oauth/access_token",
        api_base_url=api.rstrip("/") + "/",
        client_kwargs={"code_challenge_method": "S256", "default_timeout": PROVIDER_TIMEOUT_SECONDS},
    )


def require_sign_in() -> ResponseReturnValue | None:
    """Load who is signed in; send anyone else to /login, except from the open pages."""
    g.signed_in = _load_signed_in()
    endpoint = request.endpoint or ""
    if g.signed_in is not None or endpoint in OPEN_ENDPOINTS:
        return None
    if request.method in ("GET", "HEAD") and endpoint in OPEN_GET_ENDPOINTS:
        return None
    if request.method == "POST" and endpoint in OPEN_POST_ENDPOINTS:
        return None
    # back where they were after signing in; a signed-out confirming POST returns to its link's page
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    if endpoint == "pages.confirm_link":
        target = request.path
    return redirect(url_for("signin.login", next=target) if target and target != "/" else url_for("signin.login"))


def _load_signed_in() -> SignedIn | None:
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    with current_site().context.sessions() as db:
        user = db.get(User, user_id)
        if user is None or user.disabled_at is not None:
            # deleted or disabled since they signed in: the session ends with the next request
            session.clear()
            return None
        return SignedIn(user.id, user.name, user.display_name or user.email or user.name, user_zone(user.timezone))


def user_zone(name: str | None) -> tzinfo:
    """A user's own time zone (set on their settings page), or the service's when unset or unknown."""
    return zone_named(name, current_site().context.zone)


def _oauth_client() -> tuple[str, Any]:
    """The sign-in client: the OIDC provider's, or GitHub's when it is the identity."""
    registry = current_app.extensions["brag.oauth"]
    for name in (PROVIDER, GITHUB):
        client = registry.create_client(name)
        if client is not None:
            return name, client
    abort(
        503,
        description="Sign-in is not configured: set [team] oidc_issuer and oidc_client_id, "
        "or github_sign_in = true with a [team.github] app.",
    )


@signin.get("/login")
def login() -> ResponseReturnValue:
    if signed_in() is not None:
        return redirect(url_for("pages.home"))
    from harvester.web.routes import local_path

    _, client = _oauth_client()
    session[SESSION_NEXT] = local_path(request.args.get("next", "")) or None
    try:
        response: ResponseReturnValue = client.authorize_redirect(current_app.config["BRAG_CALLBACK_URL"])
    except requests.RequestException as exc:
        return _refused(502, "The identity provider did not answer", exc)
    return response


@signin.get("/auth/callback")
def callback() -> ResponseReturnValue:
    provider, client = _oauth_client()
    try:
        token = client.authorize_access_token()
        identity = _github_identity(client, token) if provider == GITHUB else _oidc_identity(token)
    except requests.RequestException as exc:
        return _refused(502, "The identity provider did not answer", exc)
    except (AuthlibBaseError, JoseError) as exc:
        # a forged or replayed state, a wrong nonce, a bad signature, or the provider's own error
        return _refused(400, "Sign-in did not complete", exc)
    except ValueError as exc:
        return _refused(400, "Sign-in did not complete", exc)
    subject, email, name = identity
    site = current_site()
    with site.context.sessions.begin() as db:
        user = find_or_create_user_by_subject(db, subject, email, name)
        user_id, disabled = user.id, user.disabled_at is not None
    if disabled:
        log.info("refused sign-in of disabled user %s", user_id)
        session.clear()
        return _message("Your account is disabled", "Ask the operator of this service to enable it again.", 403)
    landing = session.get(SESSION_NEXT)
    # a fresh session: nothing from before sign-in (a planted cookie) carries over
    session.clear()
    session[SESSION_USER] = user_id
    return redirect(landing if isinstance(landing, str) else url_for("pages.home"))


def _oidc_identity(token: dict[str, Any]) -> tuple[str, str | None, str | None]:
    claims = token.get("userinfo")
    if not claims or not claims.get("sub") or not claims.get("iss"):
        raise ValueError("the provider sent no ID token")
    return f"{claims['iss']} {claims['sub']}", claims.get("email"), claims.get("name")


def _github_identity(client: Any, token: dict[str, Any]) -> tuple[str, str | None, str | None]:
    answer = client.get("user", token=token)
    if answer.status_code != 200:
        raise ValueError(f"GitHub did not say who signed in (GET /user answered {answer.status_code})")
    user = answer.json()
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise ValueError("GitHub's GET /user answer has no account id")
    # the email is only there when the account makes it public; the name falls back to the login
    return f"github {user['id']}", user.get("email") or None, user.get("name") or user.get("login")


@signin.get("/logout")
def logout_page() -> ResponseReturnValue:
    return render_template("logout.html")


@signin.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return _message("You are signed out", "Sign in again to review your week.", 200)


def _refused(status: int, heading: str, error: Exception) -> ResponseReturnValue:
    # expected failures: one line, no traceback; the description never holds tokens
    description = getattr(error, "description", None) or str(error) or type(error).__name__
    log.warning("sign-in refused: %s: %s", type(error).__name__, description)
    return _message(heading, f"{description}. Nothing was signed in; try again.", status)


def _message(heading: str, message: str, status: int) -> ResponseReturnValue:
    return render_template("message.html", heading=heading, message=message), status
