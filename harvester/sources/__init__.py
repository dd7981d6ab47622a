"""What a connector is, and how the built-in and third-party ones are found.

A connector turns one source's API into `Activity` records. It declares one `Stream` per record
type (GitHub: pull requests and reviews; Calendar: one per calendar), each harvested on its own
cursor: a stream is given its window and stored cursor and yields batches, so one stream failing
never moves or stops another. A connector never touches the database, the environment or the
clock: the sync runner owns all three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from harvester.config import Settings
from harvester.records import Activity
from harvester.timeutil import Window

T = TypeVar("T")

ENTRY_POINT_GROUP = "brag_harvester.connectors"
# the stream of a connector that implements `harvest` itself instead of declaring streams
SINGLE_STREAM = "default"
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

    A stream yields a checkpoint only when every record of that stream up to `harvested_until`
    has been yielded, so a crash after any batch resumes without gaps.
    """

    activities: tuple[Activity, ...] = ()
    checkpoint: Cursor | None = None
    # ids of activities the source says are gone (a cancelled meeting); removed in the same transaction
    deleted: tuple[str, ...] = ()
    expected_total: int | None = None
    # things the user should know that did not stop the harvest ("reviews were not harvested: ...")
    notes: tuple[str, ...] = ()


StreamReader = Callable[[Window, Cursor | None], Iterator[Batch]]


@dataclass(frozen=True)
class Stream:
    """One record type of a source, harvested and checkpointed on its own cursor.

    The runner stores a cursor per (user, source, stream name) and gives `read` the window that
    follows it; every checkpoint `read` yields is this stream's. A name, once used, is a stored
    key: renaming a stream starts it again from the first-run window.
    """

    name: str
    read: StreamReader
    # how much of the already-harvested window to read again, for late-indexed items
    cursor_overlap: timedelta = timedelta(0)


@runtime_checkable
class Connector(Protocol):
    name: ClassVar[str]

    def streams(self) -> Sequence[Stream]:
        """This run's streams, in the order they are harvested; no requests are made here."""
        ...


@runtime_checkable
class SingleStreamConnector(Protocol):
    """The older shape, still accepted: one record type, harvested as the stream `SINGLE_STREAM`."""

    name: ClassVar[str]
    # how much of the already-harvested window to read again, for late-indexed items
    cursor_overlap: ClassVar[timedelta]

    def harvest(self, window: Window, cursor: Cursor | None) -> Iterator[Batch]: ...


class Shared(Generic[T]):
    """What the streams of one run share (a client, the user's login), made when the first needs it.

    A failure is kept as well: the next stream fails with the same error at once, instead of
    asking the server (and waiting out its retries) a second time.
    """

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        # a one-element tuple once made, so that a made None is told apart from "not yet"
        self._made: tuple[T] | None = None
        self._error: Exception | None = None

    def get(self) -> T:
        if self._error is not None:
            raise self._error
        if self._made is None:
            try:
                self._made = (self._make(),)
            except Exception as exc:
                self._error = exc
                raise
        return self._made[0]


def streams_of(connector: Connector | SingleStreamConnector) -> Sequence[Stream]:
    """The streams the runner harvests for `connector`, whichever of the two shapes it has."""
    if isinstance(connector, Connector):
        return connector.streams()
    return (Stream(SINGLE_STREAM, connector.harvest, connector.cursor_overlap),)


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
