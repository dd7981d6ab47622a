"""GitHub: merged pull requests and reviews given.

`SOURCE` is what the `brag_harvester.sources` entry point names; the connector and its client
library are imported only when something harvests.
"""

from typing import TYPE_CHECKING, Any

from connectors.github.settings import GitHubSettings
from harvester.sources.discovery import SourcePlugin

if TYPE_CHECKING:
    from connectors.github.connector import GitHubConnector

__all__ = ["SOURCE", "GitHubConnector", "GitHubSettings"]

SOURCE = SourcePlugin(
    name="github",
    settings=GitHubSettings,
    connector="connectors.github.connector:GitHubConnector",
    check="connectors.github.check:check",
)


def __getattr__(name: str) -> Any:
    if name == "GitHubConnector":
        from connectors.github.connector import GitHubConnector

        return GitHubConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
