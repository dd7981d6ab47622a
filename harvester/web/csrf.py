"""CSRF tokens for every form: a signed copy of a random value kept in the browser's session cookie.

A form posted from another site carries no token that matches this browser's session, so it is
refused; the session cookie alone (which the browser would send) is not enough.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SECRET_NAME = "csrf"
SESSION_KEY = "csrf_nonce"
FIELD = "csrf_token"
_SALT = "brag-harvester.csrf"
# a review page left open over a long weekend still posts; older forms ask for a reload
MAX_AGE_SECONDS = 7 * 24 * 3600


class CsrfError(Exception):
    """The form's token is missing, forged, expired or from another browser session."""


class CsrfGuard:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def token(self, session: MutableMapping[str, Any]) -> str:
        """The token to put in this browser's forms (creating its session nonce on first use)."""
        nonce = session.get(SESSION_KEY)
        if not isinstance(nonce, str):
            nonce = secrets.token_urlsafe(24)
            session[SESSION_KEY] = nonce
        return self._serializer.dumps(nonce)

    def check(self, session: MutableMapping[str, Any], token: str | None) -> None:
        nonce = session.get(SESSION_KEY)
        if not token or not isinstance(nonce, str):
            raise CsrfError("the form carried no security token")
        try:
            signed = self._serializer.loads(token, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            raise CsrfError("the form's security token is not valid or has expired") from None
        if not isinstance(signed, str) or not hmac.compare_digest(signed, nonce):
            raise CsrfError("the form's security token belongs to another session")
