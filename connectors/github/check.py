"""`brag init`'s first contact with GitHub: one request, no retries."""

from __future__ import annotations

from connectors.github.settings import GitHubSettings
from harvester.sources.checks import CHECK_TIMEOUT


def check(section: GitHubSettings) -> str:
    """GET /user: proves the URL and the token (it needs no scope)."""
    from github import Auth, Github

    from connectors.github.connector import GitHubConnector

    connector = GitHubConnector.from_settings(section)
    assert section.token is not None
    client = Github(
        auth=Auth.Token(section.token.reveal()),
        base_url=connector.base_url,
        retry=None,
        timeout=min(connector.timeout, CHECK_TIMEOUT),
        seconds_between_requests=None,
    )
    with connector._classified():
        login = client.get_user().login
    return f"signed in as @{login}"
