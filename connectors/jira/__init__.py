"""Jira Cloud and Data Center: tickets the user closed.

`SOURCE` is what the `brag_harvester.sources` entry point names; the connector and its client
library (`connector.py`) are imported only when something harvests.
"""

from connectors.jira.settings import JiraSettings
from harvester.sources.discovery import SourcePlugin

__all__ = ["SOURCE", "JiraSettings"]

SOURCE = SourcePlugin(
    name="jira",
    settings=JiraSettings,
    connector="connectors.jira.connector:JiraConnector",
    check="connectors.jira.check:check",
)
