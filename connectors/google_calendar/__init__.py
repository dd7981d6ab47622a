"""Google Calendar: the meetings the user took part in.

`SOURCE` is what the `brag_harvester.sources` entry point names; the connector and its client
library are imported only when something harvests.
"""

from typing import TYPE_CHECKING, Any

from connectors.google_calendar.settings import GoogleCalendarSettings
from harvester.sources.discovery import SourcePlugin

if TYPE_CHECKING:
    from connectors.google_calendar.connector import GoogleCalendarConnector

__all__ = ["SOURCE", "GoogleCalendarConnector", "GoogleCalendarSettings"]

SOURCE = SourcePlugin(
    name="google_calendar",
    settings=GoogleCalendarSettings,
    connector="connectors.google_calendar.connector:GoogleCalendarConnector",
    check="connectors.google_calendar.check:check",
)


def __getattr__(name: str) -> Any:
    if name == "GoogleCalendarConnector":
        from connectors.google_calendar.connector import GoogleCalendarConnector

        return GoogleCalendarConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
