"""The review pages: GETs only read, every POST changes one thing and redirects (POST-redirect-GET)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote, urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from harvester.clustering import SECTIONS
from harvester.display import one_line
from harvester.documents import bragdoc
from harvester.review import ReviewError, ReviewService, Snapshot
from harvester.store import repository
from harvester.store.accounts import user_by_name
from harvester.web import tokens
from harvester.web.app import current_site
from harvester.web.pages import canonical_week, default_week, next_pending, single_candidate, week_page
from harvester.web.signin import current_user_id, current_zone, signed_in, team_mode, user_zone

log = logging.getLogger(__name__)
pages = Blueprint("pages", __name__)
EDIT_FIELDS = ("title", "summary", "impact", "section")
Action = Callable[[ReviewService], Snapshot]
# what the WHATWG URL parser removes from a URL before reading it (anywhere, and at either end)
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))


@pages.get("/")
def home() -> ResponseReturnValue:
    site = current_site()
    with site.context.sessions() as session:
        week = default_week(session, current_user_id(), site.now(), current_zone())
    return redirect(url_for("pages.week", week=week))


@pages.before_request
def _only_own_ids() -> None:
    """Team mode: a candidate or item id in the URL or the form that is not the signed-in user's is 404.

    Every query is scoped by the user already, so another user's id could only miss; answering
    404 up front makes that the contract for every route, including ones added later.
    """
    if not team_mode() or signed_in() is None:
        return
    user_id = current_user_id()
    candidates = [(request.view_args or {}).get("public_id"), request.form.get("other")]
    activities = [request.form.get("activity_id")]
    with current_site().context.sessions() as session:
        for public_id in filter(None, candidates):
            if repository.candidate_by_public_id(session, user_id, str(public_id)) is None:
                abort(404, description="You have no such candidate.")
        wanted = [activity_id for activity_id in activities if activity_id]
        if set(wanted) - set(repository.activity_row_ids(session, user_id, wanted)):
            abort(404, description="You have no such item.")


@pages.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The orchestrator's probe: 200 while the database answers a query."""
    try:
        with current_site().context.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: the database did not answer: %s", type(exc).__name__)
        return "database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@pages.get("/week/<week>")
def week(week: str) -> ResponseReturnValue:
    site = current_site()
    label = canonical_week(week, current_zone())
    if label is None:
        abort(404, description=f"{week!r} is not an ISO week like 2026-W46.")
    if label != week:
        return redirect(url_for("pages.week", week=label))
    with site.context.sessions() as session:
        page = week_page(session, current_user_id(), week, site.now(), current_zone())
    return render_template("week.html", page=page, sections=SECTIONS)


@pages.get("/doc")
def doc() -> ResponseReturnValue:
    site = current_site()
    with site.context.sessions() as session:
        entries = bragdoc.entries(session, current_user_id(), current_zone())
    # bragdoc renders through its own autoescaping templates; its output is trusted markup
    html = Markup(bragdoc.render_html(entries, standalone=False))
    return render_template("doc.html", doc=html, count=len(entries))


@pages.get("/doc.md")
def doc_markdown() -> ResponseReturnValue:
    site = current_site()
    with site.context.sessions() as session:
        entries = bragdoc.entries(session, current_user_id(), current_zone())
    return bragdoc.render_markdown(entries), 200, {"Content-Type": "text/markdown; charset=utf-8"}


@pages.post("/candidates/<public_id>/approve")
def approve(public_id: str) -> Response:
    return _act(public_id, lambda review: review.approve(public_id, **_edits()), "Approved", decision=True)


@pages.post("/candidates/<public_id>/edit")
def edit(public_id: str) -> Response:
    return _act(public_id, lambda review: review.edit(public_id, **_edits()), "Saved")


@pages.post("/candidates/<public_id>/reject")
def reject(public_id: str) -> Response:
    return _act(public_id, lambda review: review.reject(public_id), "Rejected", decision=True)


@pages.post("/candidates/<public_id>/reopen")
def reopen(public_id: str) -> Response:
    """A decided card's Undo: back to pending, whatever was done since."""
    return _act(public_id, lambda review: review.reopen(public_id), "Back to review:")


@pages.post("/candidates/<public_id>/merge")
def merge(public_id: str) -> Response:
    other = request.form.get("other", "")
    return _act(public_id, lambda review: review.merge(public_id, other), f"Merged {other} into")


@pages.post("/candidates/<public_id>/split")
def split(public_id: str) -> Response:
    activity_id = request.form.get("activity_id", "")
    return _act(public_id, lambda review: review.split(public_id, activity_id), f"Split {activity_id} out of")


@pages.post("/include")
def include() -> Response:
    """Make a candidate of an item clustering left out (a 1:1 that was a win after all)."""
    activity_id = request.form.get("activity_id", "")
    zone = current_zone()
    return _act(activity_id, lambda review: review.include(activity_id, zone), "Made a candidate of")


@pages.post("/undo")
def undo() -> Response:
    site = current_site()
    try:
        with site.context.sessions.begin() as session:
            done = ReviewService(session, current_user_id()).undo()
    except ReviewError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{done.message}.", "ok" if done.applied else "error")
    return redirect(_back())


@pages.get("/r/<token>")
def review_link(token: str) -> ResponseReturnValue:
    """Where email links land: shows what the link would do; only the button's POST does it."""
    link = _read_link(token)
    owner, zone = _link_owner(link.user)
    site = current_site()
    with site.context.sessions() as session:
        candidate = single_candidate(session, owner, link.candidate, site.now(), zone)
    if candidate is None:
        return _message(
            "This candidate is gone",
            f"{link.candidate} no longer exists: it was re-grouped or undone. "
            "Open the review page to see this week's candidates.",
            404,
        )
    return render_template("confirm.html", link=link, token=token, candidate=candidate, sections=SECTIONS)


@pages.post("/r/<token>")
def confirm_link(token: str) -> ResponseReturnValue:
    link = _read_link(token)
    _link_owner(link.user)
    public_id = link.candidate
    if link.action == "approve":
        return _act(public_id, lambda review: review.approve(public_id, **_edits()), "Approved", decision=True)
    if link.action == "reject":
        return _act(public_id, lambda review: review.reject(public_id), "Rejected", decision=True)
    return redirect(url_for("pages.home"))


def _read_link(token: str) -> tokens.ReviewLink:
    """The link the token names, or a page saying why not (400 forged or damaged, 410 expired)."""
    site = current_site()
    try:
        link = tokens.read_token(site.link_secret, token)
    except tokens.LinkExpired as exc:
        abort(make_response(_message("This link has expired", f"{exc}.", 410)))
    except tokens.LinkError as exc:
        abort(make_response(_message("This link does not work", f"{exc}.", 400)))
    if not team_mode() and link.user != site.user_name:
        abort(make_response(_message("This link is for someone else", "It was sent to another user.", 400)))
    return link


def _link_owner(name: str) -> tuple[int, tzinfo]:
    """The user an email link acts for (and their time zone): the signed-in one, only when the link names them.

    Signed out (team mode), the link's signed token is the proof, for the pages that only show
    what it would do and for one-click unsubscribes. A link for someone other than the signed-in
    user answers 404 and shows nothing of theirs: it must never act for, or reveal, either one.
    """
    site = current_site()
    if not team_mode():
        return site.context.user_id, site.context.zone
    person = signed_in()
    if person is not None:
        if name != person.name:
            abort(make_response(_message("This link is not yours", _NOT_YOURS, 404)))
        return person.user_id, person.zone
    with site.context.sessions() as session:
        user = user_by_name(session, name)
        if user is None or user.disabled_at is not None:
            abort(make_response(_message("This link does not work", "Its user is not on this service.", 404)))
        return user.id, user_zone(user.timezone)


_NOT_YOURS = "It was sent to someone else. Sign out, then open it again and sign in as the person it was sent to."


def _message(heading: str, message: str, status: int) -> ResponseReturnValue:
    return render_template("message.html", heading=heading, message=message), status


def _edits() -> dict[str, str | None]:
    """The edit fields the form sent; a field the form did not carry is left as it was."""
    return {name: request.form[name] for name in EDIT_FIELDS if name in request.form}


def _act(public_id: str, action: Action, verb: str, *, decision: bool = False) -> Response:
    """Apply `action`, say what it did, and land on the card to look at next.

    After a decision (approve, reject) that is the next pending card of the page the form came
    from, so a review runs down the list; after anything else, the card acted on.
    """
    site = current_site()
    user_id = current_user_id()
    try:
        with site.context.sessions.begin() as session:
            result = action(ReviewService(session, user_id))
            row = repository.candidate_by_public_id(session, user_id, result.public_id)
            week = row.week if row is not None else None
    except ReviewError as exc:
        flash(str(exc), "error")
        return redirect(_back())
    flash(one_line(f"{verb} {public_id}: {result.title or result.public_id}."), "ok")
    landing = _back(default=url_for("pages.week", week=week) if week else None)
    focus = _next_pending(landing, result.public_id) if decision else None
    return redirect(f"{landing}#c-{focus or result.public_id}")


def _next_pending(landing: str, after: str) -> str | None:
    """The pending card after `after` on the week page `landing` leads to, if it is one."""
    found = re.fullmatch(r"/week/([^/?#]+)", urlsplit(landing).path)
    site = current_site()
    week = canonical_week(found.group(1), current_zone()) if found else None
    if week is None:
        return None
    with site.context.sessions() as session:
        return next_pending(session, current_user_id(), week, after)


def _back(default: str | None = None) -> str:
    """Where to land after a POST: the page the form came from, if it is one of ours."""
    return local_path(request.form.get("next", "")) or default or url_for("pages.home")


def local_path(target: str) -> str | None:
    """`target` as a path on this site, read the way a browser reads a Location, or None if it leaves it.

    Browsers (the WHATWG URL standard) drop every tab and line break from a URL, trim leading and
    trailing control characters and spaces, and read a backslash as `/` in http(s) URLs:
    `/<tab>/evil.example` is `//evil.example`, another site. So the check runs on what the browser will see, and the
    answer is percent-encoded so that the Location header always holds a valid value.
    """
    cleaned = _TAB_OR_NEWLINE.sub("", target).strip(_C0_OR_SPACE).replace("\\", "/")
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    path = quote(cleaned.split("#", 1)[0], safe="/?&=%:@!$'()*+,;~")
    parts = urlsplit(path)
    return path if not (parts.scheme or parts.netloc) else None


@pages.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> ResponseReturnValue:
    """The List-Unsubscribe link: a confirmation page; only the POST (or a mail provider's one-click) acts."""
    user = _unsubscribe_user(token)
    if isinstance(user, tuple):
        return user
    _link_owner(user)
    return render_template("unsubscribe.html", token=token)


@pages.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> ResponseReturnValue:
    user = _unsubscribe_user(token)
    if isinstance(user, tuple):
        return user
    site = current_site()
    owner, _zone = _link_owner(user)
    with site.context.sessions.begin() as session:
        repository.set_digests_paused(session, owner, datetime.now(UTC))
    return _message(
        "Unsubscribed",
        "No more digest emails will be sent. Your candidates stay here for review; "
        "run `brag digest --resume` to get the emails again.",
        200,
    )


def _unsubscribe_user(token: str) -> str | tuple[str, int]:
    site = current_site()
    try:
        user = tokens.read_unsubscribe_token(site.link_secret, token)
    except tokens.LinkError as exc:
        return render_template("message.html", heading="This link does not work", message=str(exc)), 400
    if not team_mode() and user != site.context.config.settings.user.name:
        return render_template(
            "message.html", heading="This link does not work", message="it belongs to another user of this server"
        ), 400
    return user
