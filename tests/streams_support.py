"""Reading a connector's streams the way the sync runner does, without a database."""

from __future__ import annotations

from collections.abc import Mapping

from harvester.sources import Batch, Connector, Cursor
from harvester.timeutil import Window


def read_streams(
    connector: Connector, window: Window, cursors: Mapping[str, Cursor | None] | None = None
) -> dict[str, list[Batch]]:
    """Each stream's batches, by stream name, every stream read from its cursor in `cursors`."""
    return {stream.name: list(stream.read(window, (cursors or {}).get(stream.name))) for stream in connector.streams()}


def read_all(connector: Connector, window: Window, cursor: Cursor | None = None) -> list[Batch]:
    """Every stream's batches in the order the runner reads them, every stream from `cursor`."""
    return [batch for stream in connector.streams() for batch in stream.read(window, cursor)]


def checkpoints(batches: list[Batch]) -> list[Cursor]:
    return [batch.checkpoint for batch in batches if batch.checkpoint is not None]
