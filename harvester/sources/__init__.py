"""What a connector is: the protocol between a source and the sync runner.

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
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from harvester.records import Activity
from harvester.timeutil import Window

T = TypeVar("T")

# the stream of a connector that implements `harvest` itself instead of declaring streams
SINGLE_STREAM = "default"


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


from harvester.sources.discovery import (  # noqa: E402  (discovery names the protocol above)
    ConnectorFactory,
    SourcePlugin,
    available_sources,
    configured_connectors,
)

__all__ = [
    "SINGLE_STREAM",
    "Batch",
    "Connector",
    "ConnectorFactory",
    "Cursor",
    "Shared",
    "SingleStreamConnector",
    "SourcePlugin",
    "Stream",
    "StreamReader",
    "available_sources",
    "configured_connectors",
    "streams_of",
]
