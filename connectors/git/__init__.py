"""Local git: the commits you authored in local repositories (read only, nothing is fetched)."""

from connectors.git.connector import GitConnector
from connectors.git.settings import GitSettings

__all__ = ["GitConnector", "GitSettings"]
