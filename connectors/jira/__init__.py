"""Jira Cloud and Data Center: tickets the user closed.

`SOURCE` is what the `brag_harvester.sources` entry point names; the connector and its client
library are imported only when something harvests.
"""

from typing import TYPE_CHECKING, Any

from connectors.jira.settings import JiraSettings
from harvester.sources.discovery import SourcePlugin

if TYPE_CHECKING:
    from connectors.jira.connector import JiraConnector

__all__ = ["SOURCE", "JiraConnector", "JiraSettings"]

SOURCE = SourcePlugin(
    name="jira",
    settings=JiraSettings,
    connector="connectors.jira.connector:JiraConnector",
    check="connectors.jira.check:check",
)


def __getattr__(name: str) -> Any:
    if name == "JiraConnector":
        from connectors.jira.connector import JiraConnector

        return JiraConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
