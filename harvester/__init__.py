"""Brag Harvester: keeps your brag document for you."""

__version__ = "0.1.0"
