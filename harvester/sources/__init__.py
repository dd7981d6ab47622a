"""What a connector is: the protocol between a source and the sync runner.

A connector turns one source's API into `Activity` records. It is given the window and the
stored cursor, yields batches, and never touches the database, the environment or the clock:
the sync runner owns all three.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, runtime_checkable

from harvester.records import Activity
from harvester.timeutil import Window


@dataclass(frozen=True)
class Cursor:
    """How far a source has been harvested, plus whatever the connector needs to continue."""

    harvested_until: datetime | None
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """Records to store together; with a checkpoint, the cursor to save in the same transaction.

    A connector yields a checkpoint only when every record up to `harvested_until` has been
    yielded, so a crash after any batch resumes without gaps.
    """

    activities: tuple[Activity, ...] = ()
    checkpoint: Cursor | None = None
    # ids of activities the source says are gone (a cancelled meeting); removed in the same transaction
    deleted: tuple[str, ...] = ()
    expected_total: int | None = None
    # things the user should know that did not stop the harvest ("reviews were not harvested: ...")
    notes: tuple[str, ...] = ()


@runtime_checkable
class Connector(Protocol):
    name: ClassVar[str]
    # how much of the already-harvested window to read again, for late-indexed items
    cursor_overlap: ClassVar[timedelta]

    def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]: ...


from harvester.sources.discovery import (  # noqa: E402  (discovery names the protocol above)
    ConnectorFactory,
    SourcePlugin,
    available_sources,
    configured_connectors,
)

__all__ = [
    "Batch",
    "Connector",
    "ConnectorFactory",
    "Cursor",
    "SourcePlugin",
    "available_sources",
    "configured_connectors",
]
