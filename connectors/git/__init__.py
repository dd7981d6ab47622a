"""Local git: the commits you authored in local repositories (read only, nothing is fetched).

`SOURCE` is what the `brag_harvester.sources` entry point names; GitPython (`connector.py`) is
imported only when something harvests.
"""

from connectors.git.settings import GitSettings
from harvester.sources.discovery import SourcePlugin

__all__ = ["SOURCE", "GitSettings"]

SOURCE = SourcePlugin(name="git", settings=GitSettings, connector="connectors.git.connector:GitConnector")
