"""Local git: the commits you authored in local repositories (read only, nothing is fetched).

`SOURCE` is what the `brag_harvester.sources` entry point names; GitPython is imported only when
something harvests.
"""

from typing import TYPE_CHECKING, Any

from connectors.git.settings import GitSettings
from harvester.sources.discovery import SourcePlugin

if TYPE_CHECKING:
    from connectors.git.connector import GitConnector

__all__ = ["SOURCE", "GitConnector", "GitSettings"]

SOURCE = SourcePlugin(name="git", settings=GitSettings, connector="connectors.git.connector:GitConnector")


def __getattr__(name: str) -> Any:
    if name == "GitConnector":
        from connectors.git.connector import GitConnector

        return GitConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
