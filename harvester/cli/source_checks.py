"""One cheap request per configured source, to tell a new user at once whether its settings work.

`brag init` runs these after writing the file. Each check makes a single attempt (a first run
should fail in seconds, not after the harvest's retries) and lets the connector's own classifier
turn a refusal into the same message and fix a harvest would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from harvester.config import Settings
from harvester.errors import BragError, SourceConfigError, SourceError, TransientError
from harvester.timeutil import utc_z

CHECK_TIMEOUT = 15
UNREACHABLE_FIX = "check the address in [{source}] and your network or proxy, then try `brag harvest`"


@dataclass(frozen=True)
class CheckResult:
    source: str
    ok: bool
    detail: str
    fix: str = ""


def check_sources(settings: Settings) -> list[CheckResult]:
    """Check every source the settings enable, in name order; a failing one does not stop the others."""
    results = []
    for source, check in sorted(CHECKS.items()):
        if getattr(settings, source) is None:
            continue
        try:
            detail = check(settings)
        except TransientError as exc:
            # the harvest's "usually temporary" fix does not fit a first contact, which is more often a wrong address
            results.append(CheckResult(source, False, exc.detail, UNREACHABLE_FIX.format(source=source)))
        except SourceError as exc:
            results.append(CheckResult(source, False, exc.detail, exc.fix))
        except BragError as exc:
            results.append(CheckResult(source, False, str(exc)))
        else:
            results.append(CheckResult(source, True, detail))
    return results


def check_github(settings: Settings) -> str:
    """GET /user: proves the URL and the token (it needs no scope)."""
    from github import Auth, Github

    from connectors.github.connector import GitHubConnector

    connector = GitHubConnector.from_settings(settings)
    assert connector is not None and settings.github is not None and settings.github.token is not None
    client = Github(
        auth=Auth.Token(settings.github.token.reveal()),
        base_url=connector.base_url,
        retry=None,
        timeout=min(connector.timeout, CHECK_TIMEOUT),
        seconds_between_requests=None,
    )
    with connector._classified():
        login = client.get_user().login
    return f"signed in as @{login}"


def check_jira(settings: Settings) -> str:
    """GET /rest/api/2/myself: proves the URL and the credentials (serverInfo is public, so it would not)."""
    from jira import JIRA, JIRAError

    from connectors.jira.connector import JiraConnector

    connector = JiraConnector.from_settings(settings)
    section = settings.jira
    assert connector is not None and section is not None
    auth: dict[str, Any] = (
        {"token_auth": section.pat.reveal()}
        if section.pat is not None
        else {"basic_auth": (section.email or "", section.token.reveal() if section.token else "")}
    )
    try:
        # get_server_info=False: the constructor then sends nothing, and myself is the one request
        client = JIRA(connector.server, get_server_info=False, max_retries=0, timeout=CHECK_TIMEOUT, **auth)
        me = client.myself()
    except JIRAError as exc:
        raise connector._classify(exc, None) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise TransientError("jira", f"cannot reach {connector.server} ({type(exc).__name__})") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SourceConfigError(
            "jira", f"{connector.server} does not answer like Jira", fix="check [jira] server: the address you open"
        ) from None
    name = me.get("emailAddress") or me.get("name") or me.get("displayName") or "?"
    return f"signed in as {name}"


def check_google_calendar(settings: Settings) -> str:
    """events.list for one upcoming event of the first calendar: proves the token file and the scope."""
    import httplib2

    from connectors.google_calendar import auth as google_auth
    from connectors.google_calendar.connector import GoogleCalendarConnector

    connector = GoogleCalendarConnector.from_settings(settings)
    assert connector is not None
    credentials = google_auth.load_credentials(connector.token_file)
    service = connector._service(credentials)
    calendar = connector.calendars[0]
    request = service.events().list(
        calendarId=calendar, maxResults=1, singleEvents=True, timeMin=utc_z(datetime.now(UTC)), fields="items(id)"
    )
    with connector._classified(calendar):
        try:
            request.execute(num_retries=0)
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise TransientError(
                "google_calendar", f"cannot reach {connector.api_endpoint} ({type(exc).__name__})"
            ) from None
    return f"calendar {calendar!r} can be read"


CHECKS: dict[str, Callable[[Settings], str]] = {
    "github": check_github,
    "jira": check_jira,
    "google_calendar": check_google_calendar,
}
