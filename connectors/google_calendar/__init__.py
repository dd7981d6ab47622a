"""Google Calendar: the meetings the user took part in."""

from connectors.google_calendar.connector import GoogleCalendarConnector

__all__ = ["GoogleCalendarConnector"]
