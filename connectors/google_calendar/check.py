"""`brag init`'s first contact with Google Calendar: one request, no retries."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.google_calendar.settings import GoogleCalendarSettings
from harvester.errors import TransientError
from harvester.timeutil import utc_z


def check(section: GoogleCalendarSettings) -> str:
    """events.list for one upcoming event of the first calendar: proves the token file and the scope."""
    import httplib2

    from connectors.google_calendar import auth as google_auth
    from connectors.google_calendar.connector import GoogleCalendarConnector

    connector = GoogleCalendarConnector.from_settings(section)
    credentials = google_auth.load_credentials(section.resolved_token_file())
    service = connector._service(credentials)
    calendar = connector.calendars[0]
    request = service.events().list(
        calendarId=calendar, maxResults=1, singleEvents=True, timeMin=utc_z(datetime.now(UTC)), fields="items(id)"
    )
    with connector._classified(calendar):
        try:
            request.execute(num_retries=0)
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise TransientError(
                "google_calendar", f"cannot reach {connector.api_endpoint} ({type(exc).__name__})"
            ) from None
    return f"calendar {calendar!r} can be read"
