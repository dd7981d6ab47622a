"""Email: composing a MIME message safely and handing it to an SMTP server.

Composition uses the stdlib `EmailMessage` with the SMTP policy, which folds long headers and
refuses header values containing line breaks, so no harvested or configured text can add a header.
Sending classifies every failure once: `permanent` when the server refused this message itself
(retrying sends the same refusal), otherwise retriable (server down, timeout, login refused).
"""

from __future__ import annotations

import functools
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import TYPE_CHECKING

from harvester.config import EmailSettings
from harvester.errors import BragError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

DEFAULT_DOMAIN = "brag-harvester.local"
# long enough for a slow submission server, short enough that `brag digest --send` does not hang
SMTP_TIMEOUT_SECONDS = 30.0


class MailError(BragError):
    """Sending failed; `permanent` says whether the same message can ever succeed as it is."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class DeliveryUnknown(MailError):
    """The whole message reached the server and no answer came back: it may have been delivered.

    SMTP has no idempotency key; this is the one window in which a resend can duplicate the email.
    """


def address_domain(address: str) -> str:
    domain = parseaddr(address)[1].rpartition("@")[2].strip().lower()
    return domain if re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain) else DEFAULT_DOMAIN


def stable_message_id(kind: str, week: str, user: str, domain: str) -> str:
    """The same id for the same user and week, so mail clients and re-sends agree it is one message."""
    local = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{kind}-{week}-{user}").strip("-.")
    return f"<{local}@{domain}>"


def compose_message(
    *,
    subject: str,
    sender: str,
    recipient: str,
    text: str,
    html: str,
    message_id: str,
    unsubscribe: Sequence[str] = (),
) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred); Date is added when sent."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = message_id
    if unsubscribe:
        message["List-Unsubscribe"] = ", ".join(f"<{target}>" for target in unsubscribe)
        # RFC 8058: mailbox providers show a one-click unsubscribe that POSTs to the https target
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def with_date(raw: bytes, when: datetime) -> bytes:
    """The stored message with its Date header, stamped at each attempt rather than at drafting."""
    return f"Date: {format_datetime(when)}\r\n".encode("ascii") + raw


def send_raw(
    raw: bytes,
    settings: EmailSettings,
    *,
    recipients: Sequence[str] | None = None,
    timeout: float = SMTP_TIMEOUT_SECONDS,
    tls_context: ssl.SSLContext | None = None,
    before_handover: Callable[[], None] | None = None,
) -> None:
    """Deliver one message to the configured SMTP server, or raise `MailError` saying what failed.

    `before_handover` runs once the server took the envelope, just before DATA: the last moment
    a send can still be called off without any chance that the message arrived. Whatever fails
    after the final "." went out, short of an answer from the server, is `DeliveryUnknown`.
    """
    envelope_from = parseaddr(settings.from_)[1]
    envelope_to = [address for _, address in getaddresses(list(recipients or [settings.to])) if address]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    smtp: _TrackingSMTP | None = None
    try:
        smtp = _connect(settings, timeout, tls_context)
        smtp.before_handover = before_handover
        if settings.smtp_user:
            password = settings.smtp_password.reveal() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.sendmail(envelope_from, envelope_to, raw)
    except Exception as exc:
        if smtp is not None:
            smtp.close()
        if smtp is not None and smtp.handed_over and _no_answer(exc):
            raise DeliveryUnknown(
                f"the SMTP server {where} received the whole message, then {_silence(exc, timeout)} instead of "
                "confirming it: it may or may not have been delivered"
            ) from None
        error = _mail_error(exc, settings, where, timeout)
        if error is None:
            raise
        raise error from None
    # accepted (250 after the final "."): nothing that goes wrong from here can unsend it
    try:
        smtp.quit()
    except OSError:
        pass
    finally:
        smtp.close()


def _no_answer(exc: Exception) -> bool:
    # smtplib's exceptions are OSErrors; those carrying a reply code are an answer (a refusal)
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPResponseException)


def _silence(exc: Exception, timeout: float) -> str:
    timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
    return f"did not answer within {timeout:g} s" if timed_out else "closed the connection"


def _mail_error(exc: Exception, settings: EmailSettings, where: str, timeout: float) -> MailError | None:
    """The one classification of an SMTP failure; None for what is not one (a bug, the caller's hook)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailError(
            f"the SMTP server {where} refused the login for {settings.smtp_user!r}: {_reply(exc)}; "
            "check [email] smtp_user and smtp_password"
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailError(
            f"the SMTP server {where} does not support what [email] asks for ({exc}); "
            "check smtp_security (starttls | ssl | none) and smtp_port"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return MailError(
            f"the SMTP server {where} refused the recipient(s) {', '.join(exc.recipients)}: "
            + "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in exc.recipients.values()),
            permanent=all(code >= 500 for code in codes),
        )
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        refused = f"the SMTP server {where} refused the message: {_reply(exc)}"
        return MailError(refused, permanent=exc.smtp_code >= 500)
    if isinstance(exc, (TimeoutError, smtplib.SMTPServerDisconnected)):
        # smtplib reports a read timeout as a disconnect, with the TimeoutError as its context
        if not isinstance(exc, TimeoutError) and not isinstance(exc.__context__, TimeoutError):
            return MailError(f"the SMTP server {where} closed the connection: {exc}; will retry")
        return MailError(f"the SMTP server {where} did not answer within {timeout:g} s; will retry")
    if isinstance(exc, ssl.SSLError):
        return MailError(
            f"TLS with the SMTP server {where} failed ({exc.reason or exc}); check smtp_security and smtp_port "
            "(465 is usually ssl, 587 starttls)"
        )
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        reason = str(exc) or type(exc).__name__
        return MailError(f"cannot deliver through the SMTP server {where}: {reason}; will retry")
    return None


class _TrackingSMTP(smtplib.SMTP):
    """smtplib's client, calling `before_handover` before DATA and noting when the final "." went out."""

    before_handover: Callable[[], None] | None = None
    handed_over = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        if self.before_handover is not None:
            self.before_handover()
        return super().data(msg)

    def send(self, s: ReadableBuffer | str) -> None:
        # smtplib.SMTP.data sends the whole message in one call ending in CRLF "." CRLF (src smtplib.py
        # data()); no command ends that way. Noted before sending: if sendall fails part-way, "unknown"
        # is the honest answer anyway
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.handed_over = True
        super().send(s)


class _TrackingSMTPSSL(_TrackingSMTP, smtplib.SMTP_SSL):
    pass


@functools.cache
def _default_tls_context() -> ssl.SSLContext:
    # built once per process: loading the system's CA bundle costs about 25 ms of CPU (measured),
    # a tenth of a team member's whole weekly pipeline when it was done for every message
    return ssl.create_default_context()


def _connect(settings: EmailSettings, timeout: float, context: ssl.SSLContext | None) -> _TrackingSMTP:
    # the EHLO name: smtplib's default (socket.getfqdn) can wait seconds on a DNS lookup
    helo = address_domain(settings.from_)
    if settings.smtp_security != "none" and context is None:
        context = _default_tls_context()
    if settings.smtp_security == "ssl":
        return _TrackingSMTPSSL(
            settings.smtp_host, settings.smtp_port, local_hostname=helo, timeout=timeout, context=context
        )
    smtp = _TrackingSMTP(settings.smtp_host, settings.smtp_port, local_hostname=helo, timeout=timeout)
    if settings.smtp_security == "starttls":
        try:
            smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
    return smtp


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"
