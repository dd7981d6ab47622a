"""Signed in as A, no route, email link or export reaches B: every one is tried with B's ids and tokens.

The routes come from the app's own URL map, so a route added later is tried too, and a route
with an argument this file does not know how to fill fails until it is taught (in `ARGUMENTS`).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from review_support import ACTIVITIES, NOW, WEEK, Seeded, renamed, seed
from signin_support import add_user, csrf_token, sign_in, team_context
from signin_support import provider as provider
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from harvester.context import Context
from harvester.sandbox.oidc import SANDBOX_PEOPLE, OidcSandbox
from harvester.store import accounts, repository
from harvester.store.models import CandidateRow, ReviewAction, User
from harvester.team.sources import CONNECTABLE, vault_of
from harvester.web import create_app, tokens
from harvester.web.signin import SESSION_USER

ADA, GRACE = SANDBOX_PEOPLE[:2]
# in every one of B's titles, and nowhere in A's data
MARKER = "Quokka"
B_ACTIVITIES = renamed(MARKER)
LINK_KINDS = ("review", "approve", "reject", "unsubscribe")
# routes that name nothing of anyone's: they answer A's own data (or none), and must show nothing of B's
NAMES_NOTHING = frozenset(
    {
        "pages.home",
        "pages.week",
        "pages.doc",
        "pages.doc_markdown",
        "pages.undo",
        "pages.healthz",
        "signin.login",
        "signin.callback",
        "signin.logout",
        "signin.logout_page",
        # the settings pages act on the signed-in user only and take no one's ids; a source name is not an id
        "settings.page",
        "settings.connect_start",
        "settings.connect_finish",
        "settings.jira_token",
        "settings.disconnect",
        "settings.save_preferences",
        "settings.pause",
        "settings.delete_everything",
    }
)


@dataclass(frozen=True)
class Person:
    user: User
    seeded: Seeded
    tokens: dict[str, str]

    @property
    def candidates(self) -> tuple[str, ...]:
        return (self.seeded.payments, self.seeded.xss, self.seeded.credentials, self.seeded.earlier)


@dataclass(frozen=True)
class Team:
    web: Flask
    context: Context
    a: Person
    b: Person


def link_tokens(context: Context, user: User, candidate: str) -> dict[str, str]:
    with context.sessions.begin() as session:
        secret = repository.app_secret(session, tokens.SECRET_NAME)
    found = {kind: tokens.make_token(secret, tokens.ReviewLink(user.name, candidate, kind)) for kind in LINK_KINDS[:3]}
    found["unsubscribe"] = tokens.unsubscribe_url("", secret, user.name).rsplit("/", 1)[1]
    return found


@pytest.fixture
def team(team_database: str, provider: OidcSandbox) -> Team:
    context = team_context(team_database, provider)
    people = []
    for person, activities in ((ADA, ACTIVITIES), (GRACE, B_ACTIVITIES)):
        user = add_user(context, provider, person)
        seeded = seed(context.sessions, user.id, activities)
        people.append(Person(user, seeded, link_tokens(context, user, seeded.payments)))
    with context.sessions.begin() as session:
        grace = people[1].user.id
        vault = vault_of(context.config.settings)
        for source in CONNECTABLE:
            grant = {"source": source, "access_token": f"{MARKER}-{source}-token", "scopes": []}
            accounts.save_grant(session, grace, source, vault, grant, ["read"], f"{MARKER.lower()}-account")
        accounts.save_preferences(
            session, grace, accounts.Preferences("Pacific/Auckland", 2, 7, (f"{MARKER} lunch",), paused=False)
        )
    return Team(create_app(context, now=lambda: NOW), context, *people)


@pytest.fixture
def client(team: Team) -> Iterator[FlaskClient]:
    with team.web.test_client() as client:
        sign_in(client, ADA)
        yield client


def b_strings(team: Team) -> set[str]:
    """What of B's must never be in a page A is shown: B's titles, name and address."""
    with team.context.sessions() as session:
        rows = repository.candidate_rows(session, team.b.user.id)
        own = {row.title for row in repository.candidate_rows(session, team.a.user.id)}
        found = {MARKER, GRACE.name, GRACE.email, *(a.title for a in B_ACTIVITIES)}
        # a drafted title keeps the first line of an item's title, and the marker may be on its
        # second: a title A's own week drafts the same way is A's too, and proves nothing
        found |= {row.title for row in rows} - own
    return found


def fingerprint(team: Team) -> Any:
    """Everything a request could change of B's."""
    user_id = team.b.user.id
    with team.context.sessions() as session:
        rows = repository.candidate_rows(session, user_id)
        members = repository.candidate_members(session, [row.id for row in rows])
        actions = session.scalars(select(ReviewAction.id).where(ReviewAction.user_id == user_id)).all()
        user = session.get(User, user_id)
        assert user is not None
        return (
            sorted(
                (r.public_id, r.state, r.title, r.summary, r.impact, r.section, r.merged_into_id, r.week)
                for r in rows
                if isinstance(r, CandidateRow)
            ),
            sorted((row_id, sorted(a.id for a in items)) for row_id, items in members.items()),
            list(actions),
            user.digests_paused_at,
            repository.user_model(session, user_id).ranking,
            accounts.preferences_of(session, user_id),
            [(grant.source, grant.status, grant.account) for grant in accounts.grants_of(session, user_id)],
        )


def assert_nothing_of_b(team: Team, client: FlaskClient, response: TestResponse, what: str) -> None:
    pages = [response.get_data(as_text=True)]
    if 300 <= response.status_code < 400 and response.headers["Location"].startswith("/"):
        # the page a redirect lands on, with whatever it flashes
        pages.append(client.get(response.headers["Location"]).get_data(as_text=True))
    for text in b_strings(team):
        for page in pages:
            assert text.lower() not in html.unescape(page).lower(), f"{what} showed B's {text!r}"


def signed_in_as_a(client: FlaskClient, team: Team) -> None:
    with client.session_transaction() as session:
        if session.get(SESSION_USER) == team.a.user.id:
            return
    sign_in(client, ADA)


def cases(web: Flask) -> list[tuple[Rule, str]]:
    found = [
        (rule, method)
        for rule in web.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    assert len(found) > 15
    return found


def form(client: FlaskClient, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client),
        "next": f"/week/{WEEK}",
        "title": "retitled",
        "impact": "no impact",
        "section": "Delivery",
        **fields,
    }


def accepts(client: FlaskClient, team: Team, rule: Rule, method: str, token: str) -> bool:
    signed_in_as_a(client, team)
    path = rule.build({"token": token}, append_unknown=False)
    assert path is not None
    response = request(client, method, path[1], form(client) if method == "POST" else None)
    return response.status_code < 400


def request(client: FlaskClient, method: str, path: str, data: dict[str, str] | None = None) -> TestResponse:
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data=data)


def test_every_route_with_bs_ids_and_tokens_answers_403_or_404_and_shows_nothing_of_b(
    team: Team, client: FlaskClient
) -> None:
    before = fingerprint(team)
    tried = 0
    for rule, method in cases(team.web):
        arguments = set(rule.arguments)
        unknown = arguments - {"public_id", "token", "week", "source"}
        assert not unknown, f"{rule.rule}: teach this test B's value for {sorted(unknown)}"
        variants: list[tuple[dict[str, str], dict[str, str], bool]] = []
        if "token" in arguments:
            for kind in LINK_KINDS:
                variants.append(({"token": team.b.tokens[kind]}, {}, True))
            # which kinds of link this route takes: A's own ones are accepted (the control)
            taken = [kind for kind in LINK_KINDS if accepts(client, team, rule, method, team.a.tokens[kind])]
            assert taken, f"{method} {rule.rule} accepts none of A's own links"
        elif "public_id" in arguments:
            for candidate in team.b.candidates:
                variants.append(({"public_id": candidate}, {}, True))
            if method == "POST":
                # A's own card in the URL, B's in the form
                variants.append(({"public_id": team.a.seeded.payments}, {"other": team.b.seeded.xss}, True))
                variants.append(({"public_id": team.a.seeded.payments}, {"activity_id": B_ACTIVITIES[1].id}, True))
        elif "source" in arguments:
            variants.extend(({"source": source}, {}, False) for source in (*CONNECTABLE, "nowhere"))
        else:
            names_b = method == "POST" and rule.endpoint not in NAMES_NOTHING
            variants.append(({}, {"activity_id": B_ACTIVITIES[4].id} if names_b else {}, names_b))
            if method == "POST" and rule.endpoint == "pages.undo":
                variants.append(({}, {"activity_id": B_ACTIVITIES[4].id}, True))
        if rule.endpoint not in NAMES_NOTHING:
            assert any(names_b for *_, names_b in variants), f"{rule.rule} is never tried with B's ids"
        for values, fields, names_b in variants:
            signed_in_as_a(client, team)
            path = rule.build({"week": WEEK, **values}, append_unknown=False)
            assert path is not None
            response = request(client, method, path[1], form(client, **fields) if method == "POST" else None)
            what = f"{method} {rule.rule} {values or ''} {fields or ''}"
            if "token" in values and not any(values["token"] == team.b.tokens[kind] for kind in taken):
                # a link of another kind (an unsubscribe token at /r/): not valid here, whoever's it is
                assert response.status_code in (400, 403, 404), f"{what} answered {response.status_code}"
            elif names_b:
                assert response.status_code in (403, 404), f"{what} answered {response.status_code}"
            else:
                assert response.status_code < 500, what
            assert_nothing_of_b(team, client, response, what)
            tried += 1
    assert tried > 30
    assert fingerprint(team) == before


def test_the_same_requests_with_as_own_ids_work_for_a(team: Team, client: FlaskClient) -> None:
    """The control: A's own links and ids succeed, so the 404s above are about whose they are."""
    with team.context.sessions() as session:
        row = repository.candidate_by_public_id(session, team.a.user.id, team.a.seeded.payments)
        assert row is not None
        title = row.title
    page = client.get(f"/r/{team.a.tokens['review']}")
    assert page.status_code == 200
    assert title in html.unescape(page.get_data(as_text=True))
    assert client.get(f"/unsubscribe/{team.a.tokens['unsubscribe']}").status_code == 200
    only_token = {"csrf_token": csrf_token(client)}
    response = client.post(f"/candidates/{team.a.seeded.credentials}/approve", data=only_token)
    assert response.status_code == 302
    response = client.post(f"/r/{team.a.tokens['reject']}", data=only_token)
    assert response.status_code == 302
    with team.context.sessions() as session:
        states = {
            public_id: repository.candidate_by_public_id(session, team.a.user.id, public_id).state  # type: ignore[union-attr]
            for public_id in (team.a.seeded.credentials, team.a.seeded.payments)
        }
    assert states == {team.a.seeded.credentials: "approved", team.a.seeded.payments: "rejected"}


def test_as_week_shows_as_candidates_only(team: Team, client: FlaskClient) -> None:
    page = html.unescape(client.get(f"/week/{WEEK}").get_data(as_text=True))
    assert "Rotate the staging database credentials".lower() in page.lower()
    assert MARKER.lower() not in page.lower()
    doc = client.get("/doc.md").get_data(as_text=True)
    assert MARKER.lower() not in doc.lower()


def test_bs_link_opened_signed_out_does_not_act_without_bs_sign_in(team: Team) -> None:
    """Signed out, B's email link shows what it would do; confirming it asks B to sign in first."""
    before = fingerprint(team)
    with team.web.test_client() as stranger:
        assert stranger.get(f"/r/{team.b.tokens['approve']}").status_code == 200
        response = stranger.post(f"/r/{team.b.tokens['approve']}", data={"csrf_token": "x"})
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=/r/")
    assert fingerprint(team) == before


def test_every_page_redirects_to_login_when_signed_out(team: Team) -> None:
    open_pages = {"signin.login", "signin.callback", "pages.healthz"}
    email_pages = {("GET", "pages.review_link"), ("GET", "pages.unsubscribe_page"), ("POST", "pages.unsubscribe")}
    with team.web.test_client() as stranger:
        for rule, method in cases(team.web):
            if rule.endpoint in open_pages or (method, rule.endpoint) in email_pages:
                continue
            path = rule.build({"week": WEEK, "public_id": team.a.seeded.payments, "token": "t", "source": "github"})
            assert path is not None
            response = request(stranger, method, path[1], {})
            assert response.status_code == 302, f"{method} {rule.rule}"
            assert response.headers["Location"].startswith("/login"), f"{method} {rule.rule}"
            assert_nothing_of_b(team, stranger, response, rule.rule)
