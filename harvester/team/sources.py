"""A team member's sources: the service's source settings, with the member's own connected accounts.

In team mode nobody is harvested with the service's credentials: a member's harvest reaches only
the sources they connected on their settings page, each with their own grant. The service's
`[github]`, `[jira]` and `[google_calendar]` sections still give everything that is not a
credential (the GitHub Enterprise address, the JQL, the calendars, the skip words), and the
member's own skip words are added to the calendar's.

A grant about to run out is renewed here, before the run, and the renewal saved (Atlassian hands
out a new refresh token each time; the old one stops working). A grant the provider refuses to
renew, or one the source refuses during the harvest, is marked "reconnect": the source is skipped
for that member until they connect it again, and their page and next digest say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from harvester.config import OAuthAppSettings, Settings, TeamSettings
from harvester.secrets import Secret
from harvester.store import accounts
from harvester.store.models import User
from harvester.team.connect import PROVIDERS, ConnectError, Grant, provider_for, refresh
from harvester.team.vault import Vault

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from harvester.sources import Connector
    from harvester.sync import SourceResult

log = logging.getLogger(__name__)

# the sources a member can connect, in the order their settings page lists them
CONNECTABLE = tuple(PROVIDERS)
PUBLIC_GITHUB_API = "https://api.github.com"


label = accounts.source_label


def reconnect_fix(source: str) -> str:
    return f"reconnect {label(source)} on your settings page"


def vault_of(settings: Settings, path: Path | None = None) -> Vault:
    team = _team(settings)
    return Vault.from_secret(team.encryption_key, path=path)


@dataclass(frozen=True)
class Connected:
    """One of the member's grants, opened, with what the settings page shows of it."""

    source: str
    grant: Grant
    account: str | None


def member_connectors(
    settings: Settings, sessions: sessionmaker[Session], user_id: int, vault: Vault, only: str | None = None
) -> list[Connector]:
    """The member's connected sources as connectors; those awaiting a reconnect are left out."""
    connected = _connected(sessions, user_id, vault, only)
    skip_words = _skip_words(sessions, user_id) if connected else []
    connectors = []
    for item in connected:
        grant = _renewed(settings, sessions, user_id, vault, item)
        if grant is not None:
            connectors.append(connector_for(settings, grant, skip_words, sessions=sessions))
    return connectors


def connector_for(
    settings: Settings,
    grant: Grant,
    skip_words: Sequence[str] = (),
    *,
    sessions: sessionmaker[Session] | None = None,
) -> Connector:
    """The connector harvesting with `grant`, configured by the service's section of its source.

    With `sessions` (the service's PostgreSQL), GitHub's search requests are paced by the token's
    budget shared by every worker (harvester/queue/budget.py): 30 a minute per token.
    """
    token = Secret.of(grant.access_token, key=f"{grant.source} grant")
    if grant.source == "github":
        from connectors.github.connector import GitHubConnector
        from connectors.github.settings import GitHubSettings

        github: GitHubSettings | None = settings.source("github")
        max_wait = github.max_rate_limit_wait if github else 300.0
        pacer = None
        if sessions is not None:
            from harvester.queue.budget import GITHUB_SEARCH, SharedBudget

            pacer = SharedBudget(sessions, "github", token, GITHUB_SEARCH, max_wait=max_wait)
        return GitHubConnector(
            token,
            base_url=grant.api_url or github_api(settings),
            # the token's own user, from GET /user: never the service's configured login
            login=None,
            reviews=github.reviews if github else True,
            max_rate_limit_wait=max_wait,
            timeout=github.timeout if github else 30,
            pacer=pacer,
        )
    if grant.source == "jira":
        from connectors.jira.connector import DONE_STATUSES, JiraConnector
        from connectors.jira.settings import JiraSettings

        jira: JiraSettings | None = settings.source("jira")
        # a 3LO grant reaches the site under api.atlassian.com/ex/jira/{cloudid}; a pasted Data
        # Center token is sent to the server the user named, as a personal access token
        oauth = "/ex/jira/" in urlsplit(grant.api_url).path
        return JiraConnector(
            grant.api_url or (jira.server if jira else ""),
            oauth_token=token if oauth else None,
            pat=None if oauth else token,
            jql=jira.jql if jira else None,
            done_statuses=jira.done_statuses if jira else DONE_STATUSES,
            max_rate_limit_wait=jira.max_rate_limit_wait if jira else 300.0,
            timeout=jira.timeout if jira else 30,
        )
    if grant.source == "google_calendar":
        from connectors.google_calendar.connector import GoogleCalendarConnector
        from connectors.google_calendar.settings import GoogleCalendarSettings

        calendar: GoogleCalendarSettings = settings.source("google_calendar") or GoogleCalendarSettings()
        section = calendar.model_copy(update={"skip": [*calendar.skip, *skip_words]})
        return GoogleCalendarConnector.for_access_token(token, section)
    raise ConnectError(f"{grant.source} cannot be harvested from a connected account")


def github_api(settings: Settings) -> str:
    """GitHub's REST API in team mode: `[github] base_url` when the service has that section, else
    the `[team.github]` app's site (<server>/api/v3 on Enterprise Server), else api.github.com."""
    github = settings.source("github")
    if github is not None:
        return str(github.base_url)
    app: OAuthAppSettings | None = _team(settings).github
    if app is None or not app.base_url:
        return PUBLIC_GITHUB_API
    return f"{app.base_url}/api/v3"


def record_refusals(sessions: sessionmaker[Session], user_id: int, results: Iterable[SourceResult]) -> None:
    """Mark "reconnect" the grants the sources refused during a harvest.

    The refusal's fix is rewritten for a member: they cannot edit the service's configuration,
    they reconnect on their settings page.
    """
    refused = [result for result in results if result.refused and result.source in CONNECTABLE]
    if not refused:
        return
    with sessions.begin() as session:
        for result in refused:
            accounts.mark_reconnect(session, user_id, result.source, result.error or "the source refused the grant")
            result.fix = reconnect_fix(result.source)


def _connected(sessions: sessionmaker[Session], user_id: int, vault: Vault, only: str | None) -> list[Connected]:
    with sessions() as session:
        infos = {info.source: info for info in accounts.grants_of(session, user_id)}
        found = []
        for source in CONNECTABLE:
            info = infos.get(source)
            if info is None or info.status != accounts.CONNECTED or (only is not None and source != only):
                continue
            opened = accounts.grant_for(session, user_id, source, vault)
            if opened is not None:
                found.append(Connected(source, Grant.from_json(opened), info.account))
    return found


def _renewed(
    settings: Settings, sessions: sessionmaker[Session], user_id: int, vault: Vault, item: Connected
) -> Grant | None:
    """The grant, renewed first when it runs out within a minute; None when the provider refused."""
    if not item.grant.expired():
        return item.grant
    app = getattr(_team(settings), item.source)
    try:
        if app is None:
            raise ConnectError(f"{label(item.source)} is no longer configured on this service ([team.{item.source}])")
        # outside any transaction: the provider may take seconds to answer
        grant = refresh(provider_for(item.source, app), app, item.grant)
    except ConnectError as exc:
        log.warning("user %s: %s grant not renewed: %s", user_id, item.source, exc)
        with sessions.begin() as session:
            accounts.mark_reconnect(session, user_id, item.source, str(exc))
        return None
    with sessions.begin() as session:
        accounts.save_grant(session, user_id, item.source, vault, grant.to_json(), grant.scopes, item.account)
    return grant


def _skip_words(sessions: sessionmaker[Session], user_id: int) -> list[str]:
    with sessions() as session:
        user = session.get(User, user_id)
        return list(user.skip_words or ()) if user is not None else []


def _team(settings: Settings) -> TeamSettings:
    if settings.team is None:
        raise ConnectError("connected accounts exist only in team mode (a [team] section)")
    return settings.team
