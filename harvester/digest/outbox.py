"""The digest's edge: read the week from the store, queue the rendered email, deliver the queue.

Each digest is one row per (user, week). A send first claims its row (queued -> sending) in its
own transaction, so two processes never mail the same digest, and a failure puts it back in the
queue with the error, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parseaddr

from sqlalchemy.orm import Session, sessionmaker

from harvester import links
from harvester.config import EmailSettings
from harvester.digest.build import build_digest
from harvester.digest.model import CandidateInput, Digest
from harvester.digest.render import render_html, render_text
from harvester.errors import BragError
from harvester.mailer import MailError, address_domain, compose_message, send_raw, stable_message_id, with_date
from harvester.records import Activity
from harvester.store import repository
from harvester.store.models import CandidateRow, DigestRow

log = logging.getLogger(__name__)

# a claim older than this belongs to a process that died mid-send
STALE_CLAIM = timedelta(minutes=15)

Sender = Callable[[bytes, EmailSettings, Sequence[str]], None]


@dataclass(frozen=True)
class Delivery:
    week: str
    status: str
    error: str | None = None


def load_digest(session: Session, *, user_id: int, user_name: str, week: str, base_url: str, zone: tzinfo) -> Digest:
    """The week's pending candidates plus pending ones from earlier weeks, with signed review links."""
    secret = repository.app_secret(session, links.SECRET_NAME)
    pending = repository.candidate_rows(session, user_id, states=["pending"])
    current = [row for row in pending if row.week == week]
    earlier = [row for row in pending if row.week < week]
    members = repository.candidate_members(session, [row.id for row in current + earlier])

    def link(public_id: str, action: links.LinkAction) -> str:
        return links.review_url(base_url, secret, links.ReviewLink(user_name, public_id, action))

    return build_digest(
        user=user_name,
        week=week,
        candidates=[_input(row, members[row.id]) for row in current],
        earlier=[_input(row, members[row.id]) for row in earlier],
        link=link,
        review_page=f"{base_url}/",
        zone=zone,
    )


def message_for(
    digest: Digest, settings: EmailSettings, base_url: str, unsubscribe_url: str | None = None
) -> tuple[str, bytes]:
    """(Message-ID, message bytes without Date) for the digest."""
    message_id = stable_message_id("digest", digest.week, digest.user, address_domain(settings.from_))
    sender_address = parseaddr(settings.from_)[1]
    message = compose_message(
        subject=digest.subject,
        sender=settings.from_,
        recipient=settings.to,
        text=render_text(digest),
        html=render_html(digest),
        message_id=message_id,
        unsubscribe=(
            f"mailto:{sender_address}?subject=unsubscribe",
            unsubscribe_url or f"{base_url.rstrip('/')}/unsubscribe",
        ),
    )
    return message_id, message.as_bytes()


def queue_digest(session: Session, user_id: int, digest: Digest, settings: EmailSettings, base_url: str) -> DigestRow:
    """Put the week's digest in the outbox; a week already sent stays as it was (never mailed twice).

    Older digests still waiting are superseded: their pending candidates are in this one.
    """
    secret = repository.app_secret(session, links.SECRET_NAME)
    unsubscribe = links.unsubscribe_url(base_url, secret, digest.user)
    message_id, raw = message_for(digest, settings, base_url, unsubscribe)
    row = repository.save_digest_draft(
        session, user_id, digest.week, message_id=message_id, subject=digest.subject, recipient=settings.to, message=raw
    )
    for older in repository.queued_digests(session, user_id):
        if older.week < digest.week:
            repository.finish_digest(
                session,
                older.id,
                status="superseded",
                error=f"not sent: its pending candidates are listed in the {digest.week} digest",
            )
    return row


def deliver_queued(
    sessions: sessionmaker[Session],
    user_id: int,
    settings: EmailSettings,
    *,
    send: Sender | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """Send every queued digest, oldest first; failures stay queued with their error for the next run."""
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        repository.requeue_stale_digests(session, user_id, now - STALE_CLAIM)
        queued = [(row.id, row.week) for row in repository.queued_digests(session, user_id)]
        paused = repository.digests_paused_at(session, user_id)
    if paused is not None:
        # the user unsubscribed: keep the queue as it is, mail nothing until they resume
        return [Delivery(week, "paused", f"digests are paused since {paused:%Y-%m-%d}") for _, week in queued]
    results = []
    for digest_id, week in queued:
        with sessions.begin() as session:
            if not repository.claim_digest(session, digest_id):
                continue
        with sessions() as session:
            row = session.get(DigestRow, digest_id)
            assert row is not None
            raw, recipient = row.message, row.recipient
        try:
            (send or _smtp)(with_date(raw, now), settings, [recipient])
        except BragError as exc:
            # MailError, or a ConfigError such as an unset SMTP_PASSWORD: the user can fix it and retry
            status = "failed" if isinstance(exc, MailError) and exc.permanent else "queued"
            log.warning("digest %s not sent: %s", week, exc)
            with sessions.begin() as session:
                repository.finish_digest(session, digest_id, status=status, error=str(exc))
            results.append(Delivery(week, status, str(exc)))
            continue
        except BaseException as exc:
            # a bug or an interrupt: release the claim so the digest is not stuck, then fail loudly
            with sessions.begin() as session:
                repository.finish_digest(session, digest_id, status="queued", error=f"unexpected error: {exc!r}")
            raise
        with sessions.begin() as session:
            repository.finish_digest(session, digest_id, status="sent")
        results.append(Delivery(week, "sent"))
    return results


def _smtp(raw: bytes, settings: EmailSettings, recipients: Sequence[str]) -> None:
    send_raw(raw, settings, recipients=recipients)


def _input(row: CandidateRow, activities: Sequence[Activity]) -> CandidateInput:
    return CandidateInput(
        public_id=row.public_id,
        week=row.week,
        title=row.title,
        summary=row.summary,
        section=row.section,
        why=row.why,
        metrics=tuple(row.metrics),
        activities=tuple(activities),
    )
