"""Google Calendar: the meetings the user took part in.

`SOURCE` is what the `brag_harvester.sources` entry point names; the connector and its client
library (`connector.py`) are imported only when something harvests.
"""

from connectors.google_calendar.settings import GoogleCalendarSettings
from harvester.sources.discovery import SourcePlugin

__all__ = ["SOURCE", "GoogleCalendarSettings"]

SOURCE = SourcePlugin(
    name="google_calendar",
    settings=GoogleCalendarSettings,
    connector="connectors.google_calendar.connector:GoogleCalendarConnector",
    check="connectors.google_calendar.check:check",
)
