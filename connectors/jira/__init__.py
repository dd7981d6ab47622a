"""Jira Cloud and Data Center: tickets the user closed."""

from connectors.jira.connector import JiraConnector

__all__ = ["JiraConnector"]
