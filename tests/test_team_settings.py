"""A member's settings page and their harvest from the accounts they connected, end to end.

Signed in through the sandbox identity provider, the member presses Connect; the app runs the
provider's web flow against the source's sandbox (the consent page is played with `requests`,
as the browser would), and the harvest then reads each source with that member's own grant
and nothing else. Revoked, expired, disconnected and deleted grants are followed through.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import pytest
from connect_support import TeamSandboxes, connectable_sources, consent, requests_with, team_with_sources
from flask.testing import FlaskClient
from signin_support import ENCRYPTION_KEY, add_user, csrf_token, sign_in
from sqlalchemy import func, select
from team_support import every_text_and_bytes_value

from harvester.context import Context
from harvester.digest.outbox import load_digest
from harvester.digest.render import render_html, render_text
from harvester.queue.budget import token_sha256
from harvester.sandbox.oidc import SANDBOX_PEOPLE
from harvester.store import accounts
from harvester.store.models import ActivityRow, RateBudget
from harvester.team.connect import Grant
from harvester.team.sources import vault_of
from harvester.web import create_app

ADA, GRACE = SANDBOX_PEOPLE[:2]
BASE_URL = "http://localhost"


@dataclass
class Service:
    context: Context
    sources: TeamSandboxes
    ada: int
    grace: int


@pytest.fixture
def service(team_database: str) -> Iterator[Service]:
    with connectable_sources(BASE_URL) as sources:
        context = team_with_sources(team_database, BASE_URL, sources)
        ada, grace = add_user(context, sources.identity, ADA).id, add_user(context, sources.identity, GRACE).id
        yield Service(context, sources, ada, grace)


def browser(service: Service, person: object) -> Iterator[FlaskClient]:
    web = create_app(service.context)
    with web.test_client() as client:
        sign_in(client, person)  # type: ignore[arg-type]
        yield client


@pytest.fixture
def ada(service: Service) -> Iterator[FlaskClient]:
    yield from browser(service, ADA)


def press_connect(client: FlaskClient, source: str, decision: str = "allow") -> str:
    """Connect on the settings page, consent at the provider, back to the app; the page shown after."""
    response = client.post(f"/settings/connect/{source}", data={"csrf_token": csrf_token(client, "/settings")})
    assert response.status_code == 302, response.get_data(as_text=True)
    authorize = response.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == [f"{BASE_URL}/connect/callback"] and query["code_challenge_method"] == ["S256"]
    back = urlsplit(consent(authorize, decision))
    landed = client.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert landed.status_code == 200
    return html.unescape(landed.get_data(as_text=True))


def stored(service: Service, user_id: int) -> dict[str, int]:
    with service.context.sessions() as session:
        rows = session.execute(
            select(ActivityRow.source, func.count()).where(ActivityRow.user_id == user_id).group_by(ActivityRow.source)
        )
        return {source: count for source, count in rows}


def member(service: Service, user_id: int) -> Context:
    return replace(service.context, user_id=user_id)


def statuses(service: Service, user_id: int) -> dict[str, str]:
    with service.context.sessions() as session:
        return {info.source: info.status for info in accounts.grants_of(session, user_id)}


def opened_grant(service: Service, user_id: int, source: str) -> Grant:
    with service.context.sessions() as session:
        found = accounts.grant_for(session, user_id, source, vault_of(service.context.config.settings))
    assert found is not None
    return Grant.from_json(found)


def test_a_member_connects_three_sources_and_is_harvested_with_their_own_grants(
    service: Service, ada: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = html.unescape(ada.get("/settings").get_data(as_text=True))
    assert all(f"Connect {name}" in page for name in ("GitHub", "Jira", "Google Calendar"))
    for source, name in (("github", "GitHub"), ("jira", "Jira"), ("google_calendar", "Google Calendar")):
        shown = press_connect(ada, source)
        assert f"{name} is connected" in shown
        assert f"Disconnect {name}" in shown
    assert statuses(service, service.ada) == dict.fromkeys(("github", "google_calendar", "jira"), "connected")
    results = member(service, service.ada).harvest()
    assert {result.source: result.ok for result in results} == {"github": True, "jira": True, "google_calendar": True}
    counts = stored(service, service.ada)
    assert set(counts) == {"github", "jira", "google_calendar"} and all(counts.values())
    # GitHub's searches went through the token's budget shared by every worker (keyed by its SHA-256)
    github_token = opened_grant(service, service.ada, "github").access_token
    with service.context.sessions() as session:
        budgets = session.execute(select(RateBudget.source, RateBudget.token_sha256)).all()
    assert [tuple(row) for row in budgets] == [("github", token_sha256(github_token))]
    # Grace connected nothing: her harvest reads nothing, with no one's credentials
    assert member(service, service.grace).harvest() == [] and stored(service, service.grace) == {}
    # every API request carried one of Ada's grants (the service's sections hold no token)
    tokens = [
        opened_grant(service, service.ada, source).access_token for source in ("github", "jira", "google_calendar")
    ]
    api_requests = [
        request
        for server in (service.sources.github, service.sources.jira, service.sources.google_calendar)
        for request in server.requests
        if not re.search(r"/(login/oauth|oauth|authorize|token|o/oauth2)", request.path)
    ]
    assert api_requests and all(any(token in (r.authorization or "") for token in tokens) for r in api_requests)
    # no token in the clear: not in any column of any table, not in any log line
    secrets = [*tokens, *(opened_grant(service, service.ada, s).refresh_token or "" for s in ("github", "jira"))]
    dump = every_text_and_bytes_value(service.context.sessions)
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for secret in filter(None, secrets):
        assert not [value for value in dump if secret.encode() in value] and secret not in logged


def test_a_denied_consent_connects_nothing_and_says_so(service: Service, ada: FlaskClient) -> None:
    shown = press_connect(ada, "github", decision="deny")
    assert "did not connect: access_denied" in shown
    assert statuses(service, service.ada) == {}


def test_a_callback_without_a_connection_waiting_is_refused(service: Service, ada: FlaskClient) -> None:
    landed = ada.get("/connect/callback?code=stolen&state=forged", follow_redirects=True)
    assert "No connection was waiting" in html.unescape(landed.get_data(as_text=True))
    assert statuses(service, service.ada) == {}


def test_a_revoked_grant_says_reconnect_on_the_page_and_in_the_digest_and_only_that_source_is_skipped(
    service: Service, ada: FlaskClient
) -> None:
    for source in ("github", "jira"):
        press_connect(ada, source)
    # Ada revokes the app in GitHub's settings
    github = service.sources.github.oauth
    github.revoke(github.issued[-1])
    results = {result.source: result for result in member(service, service.ada).harvest()}
    assert not results["github"].ok and results["github"].fix == "reconnect GitHub on your settings page"
    assert results["jira"].ok and stored(service, service.ada).get("jira")
    assert statuses(service, service.ada) == {"github": "reconnect", "jira": "connected"}
    week = html.unescape(ada.get("/", follow_redirects=True).get_data(as_text=True))
    assert "reconnect GitHub" in week
    assert "Reconnect GitHub" in html.unescape(ada.get("/settings").get_data(as_text=True))
    member(service, service.ada).finish_clustering()
    with service.context.sessions() as session:
        digest = load_digest(
            session,
            user_id=service.ada,
            user_name="ada",
            week=results["jira"].window.end.strftime("%G-W%V"),
            base_url=BASE_URL,
            zone=service.context.zone,
        )
    assert digest.reconnect == ("GitHub",)
    for rendered in (render_text(digest), render_html(digest)):
        assert "reconnect GitHub on your settings page" in rendered and f"{BASE_URL}/settings" in rendered
    # the next harvest does not ask GitHub again with the refused grant
    before = len(service.sources.github.requests)
    assert {result.source for result in member(service, service.ada).harvest()} == {"jira"}
    assert len(service.sources.github.requests) == before
    # reconnecting clears it
    assert "GitHub is connected" in press_connect(ada, "github")
    assert statuses(service, service.ada)["github"] == "connected"


def test_a_grant_about_to_expire_is_renewed_before_the_harvest_and_the_renewal_saved(
    service: Service, ada: FlaskClient
) -> None:
    press_connect(ada, "jira")
    first = opened_grant(service, service.ada, "jira")
    vault = vault_of(service.context.config.settings)
    expiring = replace(first, expires_at=time.time() + 10)
    with service.context.sessions.begin() as session:
        accounts.save_grant(session, service.ada, "jira", vault, expiring.to_json(), first.scopes, None)
    assert member(service, service.ada).harvest()[0].ok
    renewed = opened_grant(service, service.ada, "jira")
    # Atlassian rotates the refresh token on every renewal: the old one no longer works
    assert renewed.access_token != first.access_token and renewed.refresh_token != first.refresh_token
    assert renewed.api_url == first.api_url
    assert requests_with(service.sources, renewed.access_token) > 0


def test_a_refused_renewal_marks_reconnect_and_the_other_sources_still_run(service: Service, ada: FlaskClient) -> None:
    for source in ("google_calendar", "github"):
        press_connect(ada, source)
    google = service.sources.google_calendar.oauth
    google.revoke(google.issued[-1])
    grant = opened_grant(service, service.ada, "google_calendar")
    with service.context.sessions.begin() as session:
        accounts.save_grant(
            session,
            service.ada,
            "google_calendar",
            vault_of(service.context.config.settings),
            replace(grant, expires_at=time.time() - 5).to_json(),
            grant.scopes,
            None,
        )
    results = member(service, service.ada).harvest()
    assert [(result.source, result.ok) for result in results] == [("github", True)]
    assert statuses(service, service.ada) == {"github": "connected", "google_calendar": "reconnect"}


def test_the_members_skip_words_leave_their_meetings_out(service: Service, ada: FlaskClient) -> None:
    press_connect(ada, "google_calendar")
    titles = [event.summary for event in service.sources.google_calendar.scenario.calendar_events]
    # a word some meetings have and others do not
    word = next(
        word
        for title in titles
        for word in title.split()
        if len(word) > 3 and 0 < sum(word.casefold() in other.casefold() for other in titles) < len(titles) // 2
    )
    token = csrf_token(ada, "/settings")
    saved = ada.post(
        "/settings/preferences",
        data={
            "csrf_token": token,
            "timezone": "America/New_York",
            "digest_weekday": "4",
            "digest_hour": "16",
            "skip_words": f"{word}\n",
        },
        follow_redirects=True,
    )
    assert "Your settings are saved" in saved.get_data(as_text=True)
    with service.context.sessions() as session:
        assert accounts.preferences_of(session, service.ada) == accounts.Preferences(
            "America/New_York", 4, 16, (word,), paused=False
        )
    member(service, service.ada).harvest()
    with service.context.sessions() as session:
        harvested = session.scalars(
            select(ActivityRow.title).where(ActivityRow.user_id == service.ada, ActivityRow.source == "google_calendar")
        ).all()
    assert harvested and not any(word.casefold() in title.casefold() for title in harvested)


def test_an_unknown_time_zone_or_hour_is_refused_and_nothing_saved(service: Service, ada: FlaskClient) -> None:
    token = csrf_token(ada, "/settings")
    shown = ada.post(
        "/settings/preferences", data={"csrf_token": token, "timezone": "Mars/Olympus"}, follow_redirects=True
    )
    assert "is not a time zone" in html.unescape(shown.get_data(as_text=True))
    assert ada.post("/settings/preferences", data={"csrf_token": token, "digest_hour": "25"}).status_code == 400
    with service.context.sessions() as session:
        assert accounts.preferences_of(session, service.ada) == accounts.Preferences(paused=False)


def test_disconnect_deletes_the_grant_and_the_source_is_no_longer_harvested(service: Service, ada: FlaskClient) -> None:
    press_connect(ada, "github")
    press_connect(ada, "jira")
    shown = ada.post(
        "/settings/disconnect/github", data={"csrf_token": csrf_token(ada, "/settings")}, follow_redirects=True
    )
    assert "GitHub is disconnected" in html.unescape(shown.get_data(as_text=True))
    assert statuses(service, service.ada) == {"jira": "connected"}
    assert [result.source for result in member(service, service.ada).harvest()] == ["jira"]


def test_pause_stops_the_harvest_of_the_member_until_resumed(service: Service, ada: FlaskClient) -> None:
    from harvester.store import repository

    ada.post("/settings/pause", data={"csrf_token": csrf_token(ada, "/settings"), "paused": "yes"})
    with service.context.sessions() as session:
        assert service.ada not in repository.team_members(session, harvesting=True)
        assert service.grace in repository.team_members(session, harvesting=True)
    assert "Resume harvesting" in ada.get("/settings").get_data(as_text=True)
    ada.post("/settings/pause", data={"csrf_token": csrf_token(ada, "/settings"), "paused": "no"})
    with service.context.sessions() as session:
        assert service.ada in repository.team_members(session, harvesting=True)


def test_delete_removes_every_row_of_the_member_and_their_grants_and_ends_the_session(
    service: Service, ada: FlaskClient
) -> None:
    for source in ("github", "jira", "google_calendar"):
        press_connect(ada, source)
    member(service, service.ada).harvest()
    member(service, service.ada).finish_clustering()
    grace_before = stored(service, service.grace)
    token = csrf_token(ada, "/settings")
    refused = ada.post("/settings/delete", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=True)
    assert "nothing was deleted" in refused.get_data(as_text=True) and stored(service, service.ada)
    done = ada.post("/settings/delete", data={"csrf_token": token, "confirm": "delete"})
    assert done.status_code == 200 and "Your data is deleted" in done.get_data(as_text=True)
    with service.context.sessions() as session:
        for table in accounts.user_tables():
            condition = table.c.id == service.ada if table.name == "users" else None
            if condition is None and "user_id" in table.c:
                condition = table.c.user_id == service.ada
            if condition is not None:
                assert session.scalar(select(func.count()).select_from(table).where(condition)) == 0, table.name
    assert stored(service, service.grace) == grace_before
    # signed out: the next page asks to sign in again
    assert ada.get("/settings").headers["Location"].startswith("/login")


def test_a_harvest_job_whose_only_source_refused_the_grant_is_done_not_retried(
    service: Service, ada: FlaskClient
) -> None:
    from datetime import UTC, datetime

    from harvester import jobs

    press_connect(ada, "github")
    github = service.sources.github.oauth
    github.revoke(github.issued[-1])
    # the worker's call: a failure worth retrying raises JobFailed, which procrastinate retries
    outcome = jobs.execute(
        member(service, service.ada), jobs.HARVEST, "2026-12-03T06:00Z", datetime.now(UTC), raise_failures=True
    )
    assert "0 new" in str(outcome)
    assert statuses(service, service.ada) == {"github": "reconnect"}


def test_jira_data_center_connects_with_a_pasted_token_for_the_services_server(team_database: str) -> None:
    from connectors.jira.sandbox import DEFAULT_PAT, JiraSandbox
    from harvester.config import LoadedConfig, parse_settings

    with connectable_sources(BASE_URL) as sources, JiraSandbox(sources.github.scenario, deployment="Server") as server:
        data = sources.settings(team_database, BASE_URL, ENCRYPTION_KEY)
        data["jira"] = {"server": server.base_url}
        del data["team"]["jira"]  # no Atlassian app: Data Center only
        context = Context.open(LoadedConfig(settings=parse_settings(data), path=None))
        user = add_user(context, sources.identity, ADA).id
        with create_app(context).test_client() as client:
            sign_in(client, ADA)
            page = html.unescape(client.get("/settings").get_data(as_text=True))
            assert "Connect Jira" not in page and f"Personal access token for {server.base_url}" in page
            token = csrf_token(client, "/settings")
            empty = client.post(
                "/settings/jira/token", data={"csrf_token": token, "token": "  "}, follow_redirects=True
            )
            assert "paste the personal access token" in html.unescape(empty.get_data(as_text=True))
            # a pasted "file:" reference stays a token: it is never read as a path on the server
            client.post("/settings/jira/token", data={"csrf_token": token, "token": "file:/etc/hostname"})
            results = replace(context, user_id=user).harvest()
            assert [(r.source, r.ok) for r in results] == [("jira", False)]
            sent = {r.authorization for r in server.requests if r.authorization}
            assert sent == {"Bearer file:/etc/hostname"}
            saved = client.post(
                "/settings/jira/token", data={"csrf_token": token, "token": DEFAULT_PAT}, follow_redirects=True
            )
            assert "Jira is connected" in saved.get_data(as_text=True)
        results = replace(context, user_id=user).harvest()
        assert [(r.source, r.ok) for r in results] == [("jira", True)]
        with context.sessions() as session:
            assert accounts.grants_of(session, user)[0].account == server.base_url
