"""What a connector is, and how the built-in and third-party ones are found.

A connector turns one source's API into `Activity` records. It is given the window and the
stored cursor, yields batches, and never touches the database, the environment or the clock:
the sync runner owns all three.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from harvester.config import Settings
from harvester.records import Activity
from harvester.timeutil import Window

ENTRY_POINT_GROUP = "brag_harvester.connectors"
# used only when the package metadata is missing (running from a source tree that was never installed)
BUILTIN_CONNECTORS = {
    "github": "connectors.github:GitHubConnector",
    "jira": "connectors.jira:JiraConnector",
    "google_calendar": "connectors.google_calendar:GoogleCalendarConnector",
}


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


class ConnectorFactory(Protocol):
    name: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Connector | None:
        """The configured connector, or None when its section is absent from the configuration."""
        ...


def available_connectors() -> dict[str, ConnectorFactory]:
    found: dict[str, ConnectorFactory] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name] = entry.load()
    if not found:
        from importlib import import_module

        for name, target in BUILTIN_CONNECTORS.items():
            module, _, attribute = target.partition(":")
            found[name] = getattr(import_module(module), attribute)
    return found


def configured_connectors(settings: Settings, only: str | None = None) -> list[Connector]:
    connectors = []
    for name, factory in sorted(available_connectors().items()):
        if only is not None and name != only:
            continue
        connector = factory.from_settings(settings)
        if connector is not None:
            connectors.append(connector)
    return connectors
