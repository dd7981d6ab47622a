"""A team member's settings page: connected accounts, time zone, digest day and hour, skip words,
pause, and deleting everything of theirs.

Team mode only (the blueprint is registered with sign-in). Every query takes the signed-in user's
id; nothing here reads an id from the request. Connecting runs the provider's web flow
(harvester/team/connect.py): the `state` and PKCE verifier wait in this browser's signed session
until the provider sends it back to /connect/callback.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from harvester.config import OAuthAppSettings, TeamSettings
from harvester.store import accounts
from harvester.team import connect
from harvester.team.sources import CONNECTABLE, label, vault_of
from harvester.web.app import current_site
from harvester.web.signin import current_user_id, signed_in

log = logging.getLogger(__name__)
settings_pages = Blueprint("settings", __name__)
SESSION_CONNECTING = "connecting"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SKIP_WORDS = 50
# the words a person types to delete everything: a click alone must not do it
DELETE_CONFIRMATION = "delete"


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _team() -> TeamSettings:
    team = current_site().context.config.settings.team
    assert team is not None, "the settings pages are registered in team mode only"
    return team


def _app_of(source: str) -> OAuthAppSettings | None:
    if source not in CONNECTABLE:
        abort(404, description="There is no such source to connect.")
    app: OAuthAppSettings | None = getattr(_team(), source)
    return app


def _callback_url() -> str:
    return f"{current_site().context.config.settings.web.base_url.rstrip('/')}/connect/callback"


def reconnect_needed() -> list[str]:
    """Labels of the signed-in member's sources whose grant was refused, for the banner on every page."""
    if signed_in() is None:
        return []
    with current_site().context.sessions() as db:
        return accounts.refused_sources(db, current_user_id())


@settings_pages.get("/settings")
def page() -> ResponseReturnValue:
    site = current_site()
    with site.context.sessions() as db:
        preferences = accounts.preferences_of(db, current_user_id())
        grants = {info.source: info for info in accounts.grants_of(db, current_user_id())}
    if preferences is None:
        abort(404)
    jira = site.context.config.settings.source("jira")
    sources = [
        {
            "source": source,
            "label": label(source),
            "grant": grants.get(source),
            "connectable": getattr(_team(), source) is not None,
            # Jira Data Center has no web flow: a personal access token for the service's server
            "pasted_server": jira.server if source == "jira" and jira is not None else None,
        }
        for source in CONNECTABLE
    ]
    body = render_template(
        "settings.html",
        sources=sources,
        preferences=preferences,
        zones=time_zones(),
        weekdays=WEEKDAYS,
        delete_confirmation=DELETE_CONFIRMATION,
    )
    return body, 200, {"Content-Security-Policy": _policy_with_providers()}


def _policy_with_providers() -> str:
    """The site's policy, with the providers' authorization pages allowed as form targets.

    A Connect button POSTs here and is redirected to the provider; browsers apply `form-action`
    to the redirects after a form's submission too (Chromium, measured), so without the
    providers' origins the redirect would be blocked.
    """
    from harvester.web.app import SECURITY_HEADERS

    origins = []
    for source in CONNECTABLE:
        app = getattr(_team(), source)
        if app is not None:
            parts = urlsplit(connect.provider_for(source, app).authorize_url)
            origins.append(f"{parts.scheme}://{parts.netloc}")
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    return policy.replace("form-action 'self'", " ".join(["form-action 'self'", *dict.fromkeys(origins)]))


@settings_pages.post("/settings/connect/<source>")
def connect_start(source: str) -> ResponseReturnValue:
    app = _app_of(source)
    if app is None:
        abort(404, description=f"{label(source)} cannot be connected on this service.")
    provider = connect.provider_for(source, app)
    started = connect.start(provider, app, _callback_url())
    session[SESSION_CONNECTING] = {"source": source, "state": started.state, "verifier": started.code_verifier}
    return redirect(started.url)


@settings_pages.get("/connect/callback")
def connect_finish() -> ResponseReturnValue:
    waiting = session.pop(SESSION_CONNECTING, None)
    if not isinstance(waiting, dict) or waiting.get("source") not in CONNECTABLE:
        flash("No connection was waiting for this answer; press Connect to start again.", "error")
        return redirect(url_for("settings.page"))
    source = str(waiting["source"])
    app = _app_of(source)
    if app is None:
        abort(404)
    provider = connect.provider_for(source, app)
    # the address the provider redirected to, on the configured base URL (not the Host header)
    answered = _callback_url() + request.full_path[len(request.path) :]
    started = connect.Started(url="", state=str(waiting.get("state")), code_verifier=str(waiting.get("verifier")))
    try:
        grant = connect.finish(provider, app, _callback_url(), answered, started)
    except connect.ConnectError as exc:
        log.info("user %s: %s not connected: %s", current_user_id(), source, exc)
        flash(str(exc), "error")
        return redirect(url_for("settings.page"))
    _save(source, grant, grant.site or None)
    flash(f"{label(source)} is connected. It is harvested from the next run on.", "done")
    return redirect(url_for("settings.page"))


@settings_pages.post("/settings/jira/token")
def jira_token() -> ResponseReturnValue:
    jira = current_site().context.config.settings.source("jira")
    if jira is None:
        abort(404, description="This service has no Jira Data Center server configured ([jira] server).")
    try:
        grant = connect.pasted_token("jira", request.form.get("token", ""), jira.server)
    except connect.ConnectError as exc:
        flash(str(exc), "error")
        return redirect(url_for("settings.page"))
    _save("jira", grant, jira.server)
    flash("Jira is connected with your personal access token.", "done")
    return redirect(url_for("settings.page"))


def _save(source: str, grant: connect.Grant, account: str | None) -> None:
    site = current_site()
    vault = vault_of(site.context.config.settings, site.context.config.path)
    with site.context.sessions.begin() as db:
        accounts.save_grant(db, current_user_id(), source, vault, grant.to_json(), grant.scopes, account)


@settings_pages.post("/settings/disconnect/<source>")
def disconnect(source: str) -> ResponseReturnValue:
    if source not in CONNECTABLE:
        abort(404)
    with current_site().context.sessions.begin() as db:
        removed = accounts.delete_grant(db, current_user_id(), source)
    # the provider keeps its side of the grant until the person revokes the app there
    message = f"{label(source)} is disconnected; its stored grant is deleted." if removed else "Nothing to disconnect."
    flash(message, "done")
    return redirect(url_for("settings.page"))


@settings_pages.post("/settings/preferences")
def save_preferences() -> ResponseReturnValue:
    form = request.form
    zone = form.get("timezone", "").strip() or None
    if zone is not None and zone not in time_zones():
        flash(f"{zone!r} is not a time zone; pick one from the list, such as Europe/Berlin.", "error")
        return redirect(url_for("settings.page"))
    weekday = _choice(form.get("digest_weekday", ""), range(len(WEEKDAYS)))
    hour = _choice(form.get("digest_hour", ""), range(24))
    words = [line.strip() for line in form.get("skip_words", "").splitlines() if line.strip()]
    with current_site().context.sessions.begin() as db:
        current = accounts.preferences_of(db, current_user_id())
        if current is None:
            abort(404)
        chosen = accounts.Preferences(
            timezone=zone,
            digest_weekday=weekday,
            digest_hour=hour,
            skip_words=tuple(dict.fromkeys(words))[:MAX_SKIP_WORDS],
            paused=current.paused,
        )
        accounts.save_preferences(db, current_user_id(), chosen)
    flash("Your settings are saved.", "done")
    return redirect(url_for("settings.page"))


def _choice(value: str, allowed: range) -> int | None:
    """A number from a select, or None for "the service's default"; anything else is refused."""
    if not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        abort(400, description=f"{value!r} is not one of the choices.")
    if number not in allowed:
        abort(400, description=f"{value!r} is not one of the choices.")
    return number


@settings_pages.post("/settings/pause")
def pause() -> ResponseReturnValue:
    paused = request.form.get("paused") == "yes"
    with current_site().context.sessions.begin() as db:
        accounts.set_paused(db, current_user_id(), datetime.now(UTC) if paused else None)
    flash("Harvesting is paused; nothing is read from your accounts." if paused else "Harvesting resumed.", "done")
    return redirect(url_for("settings.page"))


@settings_pages.post("/settings/delete")
def delete_everything() -> ResponseReturnValue:
    if request.form.get("confirm", "").strip().lower() != DELETE_CONFIRMATION:
        flash(f"Type {DELETE_CONFIRMATION} in the box to delete your data; nothing was deleted.", "error")
        return redirect(url_for("settings.page"))
    user_id = current_user_id()
    with current_site().context.sessions.begin() as db:
        deleted = accounts.delete_user_data(db, user_id)
    log.info("user %s deleted their data: %s", user_id, deleted)
    session.clear()
    return render_template(
        "message.html",
        heading="Your data is deleted",
        message="Every item, candidate, brag doc entry and connected account of yours is gone from this service. "
        "Revoke Brag Harvester at GitHub, Atlassian and Google too if you connected them. "
        "Signing in again starts afresh.",
    )
