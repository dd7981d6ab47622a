"""GitHub: merged pull requests and reviews given.

`SOURCE` is what the `brag_harvester.sources` entry point names; the connector and its client
library (`connector.py`) are imported only when something harvests.
"""

from connectors.github.settings import GitHubSettings
from harvester.sources.discovery import SourcePlugin

__all__ = ["SOURCE", "GitHubSettings"]

SOURCE = SourcePlugin(
    name="github",
    settings=GitHubSettings,
    connector="connectors.github.connector:GitHubConnector",
    check="connectors.github.check:check",
)
