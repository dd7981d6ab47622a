"""`brag init`'s first contact with Jira: one request, no retries."""

from __future__ import annotations

from typing import Any

import requests

from connectors.jira.settings import JiraSettings
from harvester.errors import SourceConfigError, TransientError
from harvester.sources.checks import CHECK_TIMEOUT


def check(section: JiraSettings) -> str:
    """GET /rest/api/2/myself: proves the URL and the credentials (serverInfo is public, so it would not)."""
    from jira import JIRA, JIRAError

    from connectors.jira.connector import JiraConnector

    connector = JiraConnector.from_settings(section)
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
