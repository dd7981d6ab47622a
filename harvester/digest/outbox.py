"""The digest's edge: read the week from the store, queue the rendered email, deliver the queue.

Each digest is one row per (user, week). A send claims its row (queued -> sending) in its own
transaction, and just before DATA moves it to `unknown` (only if it still holds the claim); the
server's 250 makes it `sent` at once. So a digest is resent automatically only when it certainly
never reached the server, and the one window SMTP leaves (accepted, but the answer or our record
of it lost) ends in `unknown`, reported and resent only on request. See docs/digest.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parseaddr
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from harvester.clustering.setaside import left_out
from harvester.config import EmailSettings
from harvester.digest.build import build_digest
from harvester.digest.model import DEFAULT_MAX_ITEMS, CandidateInput, Digest
from harvester.digest.render import render_html, render_text
from harvester.errors import BragError
from harvester.mail import (
    DeliveryUnknown,
    MailError,
    address_domain,
    compose_message,
    send_raw,
    stable_message_id,
    with_date,
)
from harvester.records import Activity
from harvester.store import accounts, leases, repository
from harvester.store.models import CandidateRow, DigestRow
from harvester.timeutil import iso_week_window
from harvester.web import tokens

log = logging.getLogger(__name__)

# a claim untouched for this long belongs to a process that died mid-send (one on this host is
# recognised at once, see leases.is_gone). A live send lasts a few SMTP timeouts (30 s each), and
# even a wrong guess cannot send twice: the old holder's hand_over_digest then fails
STALE_CLAIM = timedelta(minutes=5)
IN_PROGRESS, UNKNOWN = "in_progress", "unknown"


class Sender(Protocol):
    def __call__(
        self,
        raw: bytes,
        settings: EmailSettings,
        *,
        recipients: Sequence[str] | None = None,
        before_handover: Callable[[], None] | None = None,
    ) -> None: ...


class ClaimLost(BragError):
    """Another process took over this send (ours looked dead); this process must not send it."""


@dataclass(frozen=True)
class Delivery:
    week: str
    status: str
    error: str | None = None


def load_digest(
    session: Session,
    *,
    user_id: int,
    user_name: str,
    week: str,
    base_url: str,
    zone: tzinfo,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> Digest:
    """The week's best pending candidates plus pending ones from earlier weeks, with signed review links."""
    secret = repository.app_secret(session, tokens.SECRET_NAME)
    pending = repository.candidate_rows(session, user_id, states=["pending"])
    current = [row for row in pending if row.week == week]
    earlier = [row for row in pending if row.week < week]
    members = repository.candidate_members(session, [row.id for row in current + earlier])

    def link(public_id: str, action: tokens.LinkAction) -> str:
        return tokens.review_url(base_url, secret, tokens.ReviewLink(user_name, public_id, action))

    window = iso_week_window(week, zone)
    ungrouped = repository.ungrouped_activities(session, user_id, since=window.start, until=window.end)

    digest = build_digest(
        user=user_name,
        week=week,
        candidates=[_input(row, members[row.id]) for row in current],
        earlier=[_input(row, members[row.id]) for row in earlier],
        link=link,
        review_page=f"{base_url}/",
        zone=zone,
        max_items=max_items,
        set_aside=[activity for activity, _ in left_out(ungrouped)],
        ranking=repository.user_model(session, user_id).ranking,
    )
    # team mode: a source that refused the member's grant is skipped until they reconnect it
    refused = accounts.refused_sources(session, user_id)
    return replace(digest, reconnect=tuple(refused), settings_page=f"{base_url}/settings") if refused else digest


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
        text=render_text(digest, settings.to),
        html=render_html(digest, settings.to),
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
    secret = repository.app_secret(session, tokens.SECRET_NAME)
    unsubscribe = tokens.unsubscribe_url(base_url, secret, digest.user)
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


def queue_week(
    sessions: sessionmaker[Session],
    user_id: int,
    user_name: str,
    week: str,
    settings: EmailSettings,
    base_url: str,
    zone: tzinfo,
) -> DigestRow | None:
    """Draft the week's digest into the outbox; its row, or None when there is nothing to review."""
    with sessions.begin() as session:
        digest = load_digest(
            session,
            user_id=user_id,
            user_name=user_name,
            week=week,
            base_url=base_url,
            zone=zone,
            max_items=settings.max_items,
        )
        if digest.empty:
            return None
        row = queue_digest(session, user_id, digest, settings, base_url)
        session.expunge(row)
        return row


def deliver_queued(
    sessions: sessionmaker[Session],
    user_id: int,
    settings: EmailSettings,
    *,
    send: Sender | None = None,
    now: datetime | None = None,
    resend_unknown: bool = False,
) -> list[Delivery]:
    """Send every queued digest, oldest first, and report every digest that is not settled.

    A `sending` row whose process is gone is queued again (it never reached DATA). An `unknown`
    row (it may have been delivered) is reported and left alone unless `resend_unknown`
    (`brag digest --retry`). A row another live process is sending is reported as in progress.
    """
    now = now or datetime.now(UTC)
    owner = leases.this_process()
    with sessions.begin() as session:
        repository.release_abandoned_sends(session, user_id, now - STALE_CLAIM)
        if resend_unknown:
            repository.requeue_unconfirmed(session, user_id, now - STALE_CLAIM)
        queued = [(row.id, row.week) for row in repository.queued_digests(session, user_id)]
        unsettled = [_unsettled(row, now) for row in repository.digests_in(session, user_id, "sending", "unknown")]
        paused = repository.digests_paused_at(session, user_id)
    if paused is not None:
        # the user unsubscribed: keep the queue as it is, mail nothing until they resume
        return [Delivery(week, "paused", f"digests are paused since {paused:%Y-%m-%d}") for _, week in queued]
    sender = send or send_raw
    results = [_send_one(sessions, digest_id, week, owner, settings, sender, now) for digest_id, week in queued]
    return unsettled + [result for result in results if result is not None]


def _unsettled(row: DigestRow, now: datetime) -> Delivery:
    since = f"since {row.updated_at:%Y-%m-%d %H:%M} UTC"
    if not repository.held_by_nobody(row, now - STALE_CLAIM):
        return Delivery(row.week, IN_PROGRESS, f"another brag process ({row.claimed_by}) is sending it, {since}")
    return Delivery(row.week, UNKNOWN, row.last_error or f"the attempt {since} was interrupted after the handover")


def _send_one(
    sessions: sessionmaker[Session],
    digest_id: int,
    week: str,
    owner: str,
    settings: EmailSettings,
    send: Sender,
    now: datetime,
) -> Delivery | None:
    with sessions.begin() as session:
        if not repository.claim_digest(session, digest_id, owner):
            return None
        row = session.get(DigestRow, digest_id)
        assert row is not None
        raw, recipient = row.message, row.recipient

    def hand_over() -> None:
        # committed before DATA: from here a kill leaves `unknown`, never a row that is resent on its own
        with sessions.begin() as session:
            if not repository.hand_over_digest(session, digest_id, owner):
                raise ClaimLost(f"the {week} digest was taken over by another process; not sending it from here")

    def record(status: str, error: str | None = None) -> None:
        with sessions.begin() as session:
            repository.finish_digest(session, digest_id, status=status, error=error, owner=owner)

    try:
        send(with_date(raw, now), settings, recipients=[recipient], before_handover=hand_over)
    except ClaimLost as exc:
        return Delivery(week, IN_PROGRESS, str(exc))
    except DeliveryUnknown as exc:
        log.warning("digest %s: %s", week, exc)
        record(UNKNOWN, str(exc))
        return Delivery(week, UNKNOWN, str(exc))
    except BragError as exc:
        # MailError, or a ConfigError such as an unset SMTP_PASSWORD: the user can fix it and retry
        status = "failed" if isinstance(exc, MailError) and exc.permanent else "queued"
        log.warning("digest %s not sent: %s", week, exc)
        record(status, str(exc))
        return Delivery(week, status, str(exc))
    except BaseException as exc:
        # a bug or an interrupt: a row not yet handed over goes back to the queue; an `unknown` one stays
        with sessions.begin() as session:
            repository.release_digest(session, digest_id, owner, f"unexpected error: {exc!r}")
        raise
    record("sent")
    return Delivery(week, "sent")


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
