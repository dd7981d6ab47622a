"""Google OAuth for the Calendar connector: `brag auth google`, and loading, refreshing and saving its token.

The token file is google-auth's "authorized user" JSON (`Credentials.to_json()`), written with
owner-only permissions because its refresh token grants read access to the user's calendars
until it is revoked.

Facts this module relies on (google-auth 2.x and google-auth-oauthlib 1.x source):
- `InstalledAppFlow.run_local_server` asks for `access_type=offline`, so a refresh token is issued;
- `Credentials.from_authorized_user_info` treats a file without `expiry` as expired, and replaces
  the file's `token_uri` with Google's (google-auth 2.x);
- google-auth refreshes an expired token on its own during requests but never writes it back,
  so the caller saves it (`save_if_changed`);
- a revoked or expired refresh token answers 400 `invalid_grant`, raised as `RefreshError`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import platformdirs
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from harvester.errors import ConfigError, SourceAuthError, TransientError

SOURCE = "google_calendar"
SCOPES = ("https://www.googleapis.com/auth/calendar.readonly",)
TOKEN_FILENAME = "google-token.json"
REAUTHORIZE = "run `brag auth google` again to authorize Brag Harvester"


def default_token_file() -> Path:
    """Where `brag auth google` stores the token unless [google_calendar] token_file says otherwise."""
    from harvester.config import APP_NAME

    return Path(platformdirs.user_data_dir(APP_NAME)) / TOKEN_FILENAME


def authorize(client_secrets_file: Path, token_file: Path, *, port: int = 0, open_browser: bool = True) -> Credentials:
    """Run the installed-app flow in the browser and save the token; read-only calendar scope only."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    client_secrets_file = client_secrets_file.expanduser()
    if not client_secrets_file.exists():
        raise ConfigError(
            f"client secrets file {client_secrets_file} not found; create an OAuth client of type "
            "'Desktop app' in the Google Cloud console and download its JSON",
            key="google_calendar.client_secrets_file",
        )
    flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets_file), scopes=list(SCOPES))
    credentials = flow.run_local_server(port=port, open_browser=open_browser)
    if not isinstance(credentials, Credentials):
        raise TypeError(f"unexpected credentials type {type(credentials).__name__}")
    save_credentials(credentials, token_file)
    return credentials


def load_credentials(token_file: Path) -> Credentials:
    """The saved credentials, refreshed (and saved again) when the access token has expired."""
    token_file = token_file.expanduser()
    if not token_file.exists():
        raise SourceAuthError(SOURCE, f"no Google token at {token_file}", fix=REAUTHORIZE.replace(" again", ""))
    try:
        info = json.loads(token_file.read_text(encoding="utf-8"))
        credentials: Credentials = Credentials.from_authorized_user_info(info, list(SCOPES))  # type: ignore[no-untyped-call]
    except (ValueError, AttributeError, OSError) as exc:
        raise SourceAuthError(SOURCE, f"{token_file} is not a Google token file ({exc})", fix=REAUTHORIZE) from None
    # google-auth always substitutes Google's token endpoint; the file's own one is kept so a
    # sandbox (brag demo) can issue tokens; our file is owner-only and written by `brag auth google`
    if isinstance(info.get("token_uri"), str) and info["token_uri"] != credentials.token_uri:
        expiry = credentials.expiry
        credentials = credentials.with_token_uri(info["token_uri"])
        # the copy drops the expiry, which would make an expired token look valid
        credentials.expiry = expiry
    if not credentials.valid:
        if not credentials.refresh_token:
            raise SourceAuthError(SOURCE, "the Google token has expired and has no refresh token", fix=REAUTHORIZE)
        refresh(credentials)
        save_credentials(credentials, token_file)
    return credentials


def refresh(credentials: Credentials) -> None:
    """Exchange the refresh token for a new access token, with the failure classified once."""
    try:
        credentials.refresh(Request())  # type: ignore[no-untyped-call]
    except RefreshError as exc:
        raise refresh_failed(exc) from None
    except TransportError as exc:
        raise TransientError(SOURCE, f"cannot reach Google's token endpoint ({exc})") from None


def refresh_failed(exc: RefreshError) -> SourceAuthError:
    # the message carries Google's error code, e.g. "invalid_grant: Token has been expired or revoked."
    detail = str(exc.args[0]) if exc.args else str(exc)
    return SourceAuthError(SOURCE, f"Google refused the saved authorization ({detail})", fix=REAUTHORIZE)


def save_credentials(credentials: Credentials, token_file: Path) -> None:
    """Write the token atomically, readable and writable by the owner only (0600, directory 0700)."""
    token_file = token_file.expanduser()
    token_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=".google-token-", dir=token_file.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(credentials.to_json())  # type: ignore[no-untyped-call]
        os.replace(temporary, token_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    os.chmod(token_file, 0o600)


def save_if_changed(credentials: Credentials, token_file: Path, token_before: str | None) -> None:
    """Save a token that google-auth refreshed on its own during the requests."""
    if credentials.token and credentials.token != token_before:
        save_credentials(credentials, token_file)


__all__ = [
    "SCOPES",
    "authorize",
    "default_token_file",
    "load_credentials",
    "refresh",
    "refresh_failed",
    "save_credentials",
    "save_if_changed",
]
