"""The review web app: a Flask app over one user's store, built in-process by `create_app`."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response

from harvester.context import Context
from harvester.store import repository
from harvester.web import tokens
from harvester.web.csrf import FIELD, SECRET_NAME, CsrfError, CsrfGuard

SESSION_SECRET_NAME = "web-session"
# a Host header: a DNS name or IPv4 address, or a bracketed IPv6 literal, then an optional port
_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::[0-9]{1,5})?")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# every page is our own markup: no inline script, no framing (the confirmation page must not be
# clickjacked), and no referrer so a review-link token never leaks to the sites evidence links open
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Site:
    """What every request needs: the user's context (store, user, zone), the CSRF guard and the link secret."""

    context: Context
    csrf: CsrfGuard
    link_secret: str
    user_name: str
    now: Callable[[], datetime]
    # canonical names (`host_name`) of the hosts requests may be addressed to
    trusted_hosts: frozenset[str] = frozenset()


def current_site() -> Site:
    found: Site = current_app.extensions["brag"]
    return found


def create_app(context: Context, *, now: Callable[[], datetime] | None = None, hosts: Iterable[str] = ()) -> Flask:
    """The review site for `context`'s user; `now` lets tests pin the current week.

    Only requests addressed to loopback, to `[web] base_url`'s host or to `hosts` are answered.
    """
    with context.sessions.begin() as session:
        csrf_secret = repository.app_secret(session, SECRET_NAME)
        link_secret = repository.app_secret(session, tokens.SECRET_NAME)
        session_secret = repository.app_secret(session, SESSION_SECRET_NAME)
    web = Flask(__name__)
    web.secret_key = session_secret
    web.config.update(
        SESSION_COOKIE_NAME="brag_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        TEMPLATES_AUTO_RELOAD=False,
    )
    # Flask turns autoescaping on for .html templates; all harvested text is untrusted
    web.jinja_env.autoescape = True
    web.extensions["brag"] = Site(
        context=context,
        csrf=CsrfGuard(csrf_secret),
        link_secret=link_secret,
        user_name=context.config.settings.user.name,
        now=now or context.now,
        trusted_hosts=trusted_hosts(
            [*LOOPBACK_HOSTS, *hosts, urlsplit(context.config.settings.web.base_url).hostname or ""]
        ),
    )
    web.jinja_env.globals["csrf_token"] = _csrf_token
    web.jinja_env.globals["csrf_field"] = FIELD
    web.before_request(_check_host)
    team = context.config.settings.team
    if team is not None:
        from harvester.team.sources import github_api
        from harvester.web.settings import reconnect_needed, settings_pages
        from harvester.web.signin import init_signin, require_sign_in, signed_in

        init_signin(web, team, context.config.settings.web.base_url, github_api(context.config.settings))
        web.register_blueprint(settings_pages)
        web.jinja_env.globals["signed_in"] = signed_in
        web.jinja_env.globals["reconnect_needed"] = reconnect_needed
        # before the CSRF check: a signed-out POST goes to /login, not to a form error
        web.before_request(require_sign_in)
    web.before_request(_check_csrf)
    web.after_request(_security_headers)
    web.register_error_handler(HTTPException, _error_page)

    from harvester.web.routes import pages

    web.register_blueprint(pages)
    return web


def host_name(host: str) -> str | None:
    """The canonical name in a Host header (`[::1]:8765` -> `::1`), or None when it is not a valid one.

    A page on another site can rebind its own DNS name to 127.0.0.1 and read ours; its Host header
    gives it away. Flask's TRUSTED_HOSTS cannot name an IPv6 literal (werkzeug 3.1 cuts each trusted
    entry at its first ":", measured), so the check is ours: IP literals compare as addresses.
    """
    match = _HOST.fullmatch(host.strip())
    if match is None:
        return None
    name = match.group("ipv6") or match.group("name")
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return None if match.group("ipv6") else name.lower()


def trusted_hosts(names: Iterable[str]) -> frozenset[str]:
    """Canonical names of `names` (bare, bracketed, or with a port)."""
    found = {host_name(name if ":" not in name or name.startswith("[") else f"[{name}]") for name in names if name}
    return frozenset(name for name in found if name)


def _check_host() -> ResponseReturnValue | None:
    """Answer only requests addressed to a trusted host (loopback, `[web] base_url`'s, `--host`)."""
    if host_name(request.headers.get("Host", "")) in current_site().trusted_hosts:
        return None
    return "400 Bad Request: this address is not served here.", 400, {"Content-Type": "text/plain"}


def _csrf_token() -> str:
    return current_site().csrf.token(session)


def _check_csrf() -> ResponseReturnValue | None:
    """Every state-changing request (any POST) must carry this browser's CSRF token."""
    if request.method != "POST" or request.path.startswith("/unsubscribe/"):
        # the unsubscribe link's signed token is its own proof, and RFC 8058 one-click
        # unsubscribes arrive from the mailbox provider without this browser's cookies
        return None
    try:
        current_site().csrf.check(session, request.form.get(FIELD))
    except CsrfError as exc:
        body = render_template(
            "message.html",
            heading="This form could not be accepted",
            message=f"{exc}. Nothing was changed. Reload the page and try again.",
        )
        return body, 400
    return None


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _error_page(error: HTTPException) -> ResponseReturnValue:
    if isinstance(error, SecurityError):
        # an untrusted Host: there is no URL adapter to build the page's links with, and no page is owed
        return "400 Bad Request: this address is not served here.", 400, {"Content-Type": "text/plain"}
    body = render_template("message.html", heading=f"{error.code} {error.name}", message=error.description or "")
    return body, error.code or 500
