"""GitHub: merged pull requests and reviews given."""

from connectors.github.connector import GitHubConnector

__all__ = ["GitHubConnector"]
