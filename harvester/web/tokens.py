"""Signed, expiring review links for the digest email, and reading them back on the review page.

A link names a user, a candidate and an action. Opening it never changes anything (mail scanners
prefetch links): the page it opens asks for a confirming POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from harvester.errors import BragError

LinkAction = Literal["review", "approve", "reject"]
LINK_ACTIONS: tuple[str, ...] = ("review", "approve", "reject")
# long enough for a digest read after a week away, short enough that old mail stops working
LINK_MAX_AGE_SECONDS = 30 * 24 * 3600
LINK_SALT = "brag-harvester.review-link"
SECRET_NAME = "review-links"


class LinkError(BragError):
    """A review link that is forged, damaged or expired; the message says which and what to do."""


class LinkExpired(LinkError):
    """A genuine link past its age limit (the page answers 410 Gone rather than 400)."""


@dataclass(frozen=True)
class ReviewLink:
    user: str
    candidate: str
    action: LinkAction


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT)


def make_token(secret: str, link: ReviewLink) -> str:
    return _serializer(secret).dumps({"u": link.user, "c": link.candidate, "a": link.action})


def review_url(base_url: str, secret: str, link: ReviewLink) -> str:
    return f"{base_url.rstrip('/')}/r/{make_token(secret, link)}"


def read_token(secret: str, token: str, max_age: int = LINK_MAX_AGE_SECONDS) -> ReviewLink:
    try:
        data = _serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkExpired("this review link has expired; open the review page with `brag serve` instead") from None
    except BadSignature:
        raise LinkError("this review link is not valid (it may have been cut or altered)") from None
    action = data.get("a")
    if action not in LINK_ACTIONS or not data.get("c") or not data.get("u"):
        raise LinkError("this review link is not valid")
    return ReviewLink(user=str(data["u"]), candidate=str(data["c"]), action=action)


UNSUBSCRIBE_SALT = "brag-harvester.unsubscribe"


def unsubscribe_url(base_url: str, secret: str, user: str) -> str:
    """The List-Unsubscribe target: it names the user and does not expire (old mail must still work)."""
    token = URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT).dumps({"u": user})
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"


def read_unsubscribe_token(secret: str, token: str) -> str:
    try:
        data = URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise LinkError("this unsubscribe link is not valid (it may have been cut or altered)") from None
    if not isinstance(data, dict) or not data.get("u"):
        raise LinkError("this unsubscribe link is not valid")
    return str(data["u"])
