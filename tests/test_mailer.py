"""The digest as a real SMTP server receives it, and what happens when SMTP fails."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from digest_support import BASE_URL, EVIL_TITLE, WEEK, email_settings, seed
from sqlalchemy.orm import Session, sessionmaker

from harvester.config import EmailSettings, parse_settings
from harvester.digest.outbox import Delivery, deliver_queued, load_digest, queue_digest
from harvester.errors import ConfigError
from harvester.mail import MailError, send_raw
from harvester.sandbox.smtp import SmtpSink, free_port
from harvester.store import repository
from harvester.web import tokens

MESSAGE_ID = "<digest-2026-W46-me@acme.com>"


@pytest.fixture
def seeded(sessions: sessionmaker[Session], user_id: int) -> sessionmaker[Session]:
    seed(sessions, user_id)
    return sessions


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def draft(sessions: sessionmaker[Session], user_id: int, settings: EmailSettings) -> str:
    with sessions.begin() as session:
        digest = load_digest(session, user_id=user_id, user_name="me", week=WEEK, base_url=BASE_URL, zone=dt.UTC)
        return queue_digest(session, user_id, digest, settings, BASE_URL).status


def outbox(sessions: sessionmaker[Session], user_id: int) -> tuple[str, int, str | None]:
    with sessions() as session:
        row = repository.digest_row(session, user_id, WEEK)
        assert row is not None
        return row.status, row.attempts, row.last_error


def test_received_digest_structure_headers_and_signed_links(
    seeded: sessionmaker[Session], user_id: int, sink: SmtpSink
) -> None:
    settings = email_settings(sink.port)
    draft(seeded, user_id, settings)
    assert deliver_queued(seeded, user_id, settings) == [Delivery(WEEK, "sent")]

    (mail,) = sink.received
    assert mail.mail_from == "brag@acme.com" and mail.rcpt_tos == ("me@acme.com",)
    message = mail.message()
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    # two pending this week (the approved one is not asked about again) and one from W44
    assert message["Subject"] == "Your wins for 2026-W46: 3 to review"
    assert message["From"] == "Brag Harvester <brag@acme.com>" and message["To"] == "me@acme.com"
    assert message["Message-ID"] == MESSAGE_ID
    assert message["Date"] is not None
    mailto, url = message["List-Unsubscribe"].split(", ")
    assert mailto == "<mailto:brag@acme.com?subject=unsubscribe>" and url.startswith(f"<{BASE_URL}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # the hostile title adds no header and no markup anywhere
    assert message["Bcc"] is None and b"\nBcc:" not in mail.data
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Bcc: evil@x" in html
    assert EVIL_TITLE.replace("\n", " ") in text and "\nBcc" not in text
    assert "Done already" not in text and "Still waiting from earlier weeks" in text

    with seeded.begin() as session:
        secret = repository.app_secret(session, tokens.SECRET_NAME)
    found = re.findall(re.escape(BASE_URL) + r"/r/([A-Za-z0-9_.\-]+)", html)
    decoded = {tokens.read_token(secret, token) for token in found}
    assert decoded == {
        tokens.ReviewLink("me", candidate, action)
        for candidate in ("c-pay", "c-evil", "c-old")
        for action in ("approve", "reject", "review")
    }
    assert set(re.findall(re.escape(BASE_URL) + r"/r/([A-Za-z0-9_.\-]+)", text)) == set(found)


def test_drafting_and_sending_twice_sends_one_email(
    seeded: sessionmaker[Session], user_id: int, sink: SmtpSink
) -> None:
    settings = email_settings(sink.port)
    assert draft(seeded, user_id, settings) == "queued"
    assert draft(seeded, user_id, settings) == "queued"
    deliver_queued(seeded, user_id, settings)
    assert draft(seeded, user_id, settings) == "sent"
    assert deliver_queued(seeded, user_id, settings) == []
    assert len(sink.received) == 1
    assert outbox(seeded, user_id) == ("sent", 1, None)


def test_login_refused_stays_queued_with_the_reason_then_retry_succeeds(
    seeded: sessionmaker[Session], user_id: int
) -> None:
    with SmtpSink(credentials=("brag", "right")) as server:
        wrong = email_settings(server.port, smtp_user="brag", smtp_password="wrong")
        draft(seeded, user_id, wrong)
        (failed,) = deliver_queued(seeded, user_id, wrong)
        assert failed.status == "queued"
        assert failed.error is not None and "refused the login for 'brag'" in failed.error and "535" in failed.error
        assert outbox(seeded, user_id)[:2] == ("queued", 1)
        assert server.received == []

        right = email_settings(server.port, smtp_user="brag", smtp_password="right")
        assert deliver_queued(seeded, user_id, right) == [Delivery(WEEK, "sent")]
        (mail,) = server.received
        assert mail.login == "brag" and mail.message()["Message-ID"] == MESSAGE_ID
    assert outbox(seeded, user_id) == ("sent", 2, None)


def test_server_down_keeps_the_digest_then_it_is_sent_when_back(seeded: sessionmaker[Session], user_id: int) -> None:
    port = free_port()
    settings = email_settings(port)
    draft(seeded, user_id, settings)
    (failed,) = deliver_queued(seeded, user_id, settings)
    assert failed.status == "queued" and failed.error is not None
    assert f"127.0.0.1:{port}" in failed.error and "refused" in failed.error.lower()
    # drafting again while it waits changes nothing about its identity
    draft(seeded, user_id, settings)
    with SmtpSink(port=port) as server:
        assert deliver_queued(seeded, user_id, settings) == [Delivery(WEEK, "sent")]
        assert deliver_queued(seeded, user_id, settings) == []
    assert len(server.received) == 1 and server.messages()[0]["Message-ID"] == MESSAGE_ID


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(MailError, match=r"did not answer within 0.5 s") as caught:
            send_raw(b"Subject: x\r\n\r\nx\r\n", email_settings(silent.getsockname()[1]), timeout=0.5)
    assert not caught.value.permanent


def test_a_send_interrupted_before_the_handover_is_released(
    seeded: sessionmaker[Session], user_id: int, sink: SmtpSink
) -> None:
    settings = email_settings(sink.port)
    draft(seeded, user_id, settings)

    def crash(raw: bytes, settings: EmailSettings, **_: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deliver_queued(seeded, user_id, settings, send=crash)
    assert outbox(seeded, user_id)[0] == "queued"
    deliver_queued(seeded, user_id, settings)
    assert len(sink.received) == 1


def dead_owner() -> str:
    """The owner name of a process on this host that has exited (what `kill -9` leaves behind)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return f"{socket.gethostname()}:{int(child.stdout)}:deadbeef"


def test_a_live_send_elsewhere_is_reported_not_repeated_and_a_killed_one_is_sent_at_once(
    seeded: sessionmaker[Session], user_id: int, sink: SmtpSink
) -> None:
    settings = email_settings(sink.port)
    draft(seeded, user_id, settings)
    with seeded.begin() as session:
        row = repository.digest_row(session, user_id, WEEK)
        assert row is not None and repository.claim_digest(session, row.id, "other-host:4242:cafe")
    (busy,) = deliver_queued(seeded, user_id, settings)
    assert busy.status == "in_progress" and busy.error is not None and "other-host:4242:cafe" in busy.error
    assert sink.received == []

    # the holder was killed on this host before DATA: sent now, not after a quarter of an hour
    with seeded.begin() as session:
        row = repository.digest_row(session, user_id, WEEK)
        assert row is not None
        row.claimed_by = dead_owner()
    assert deliver_queued(seeded, user_id, settings) == [Delivery(WEEK, "sent")]
    assert len(sink.received) == 1


def test_a_process_whose_claim_was_taken_over_cannot_send(seeded: sessionmaker[Session], user_id: int) -> None:
    settings = email_settings(free_port())
    draft(seeded, user_id, settings)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with seeded.begin() as session:
        row = repository.digest_row(session, user_id, WEEK)
        assert row is not None and repository.claim_digest(session, row.id, "slow-host:1:a")
        # another process believes the slow holder died, and takes the digest
        assert repository.release_abandoned_sends(session, user_id, stale_before=later) == [WEEK]
        assert repository.claim_digest(session, row.id, "other-host:2:b")
        assert not repository.hand_over_digest(session, row.id, "slow-host:1:a")
        assert repository.hand_over_digest(session, row.id, "other-host:2:b")


def test_acknowledgement_lost_after_the_final_dot_is_unknown_and_resent_only_on_retry(
    seeded: sessionmaker[Session], user_id: int
) -> None:
    with SmtpSink(drop_after_data=1.0) as lossy:
        settings = email_settings(lossy.port)
        draft(seeded, user_id, settings)
        (unknown,) = deliver_queued(seeded, user_id, settings)
        assert unknown.status == "unknown" and unknown.error is not None
        assert "received the whole message, then closed the connection" in unknown.error
        assert len(lossy.received) == 1 and lossy.dropped == 1
    assert outbox(seeded, user_id)[0] == "unknown"
    with SmtpSink(port=lossy.port) as server:
        # `brag digest --send`, a scheduled run, drafting the week again: reported, never resent on their own
        assert draft(seeded, user_id, settings) == "unknown"
        assert [d.status for d in deliver_queued(seeded, user_id, settings)] == ["unknown"]
        assert server.received == []
        # `brag digest --retry` is the user's explicit decision to send it again
        assert deliver_queued(seeded, user_id, settings, resend_unknown=True) == [Delivery(WEEK, "sent")]
        (again,) = server.received
    assert again.message()["Message-ID"] == lossy.received[0].message()["Message-ID"] == MESSAGE_ID
    assert outbox(seeded, user_id)[:2] == ("sent", 2)


def test_a_250_slower_than_the_timeout_is_unknown_not_resent(seeded: sessionmaker[Session], user_id: int) -> None:
    answer = threading.Event()
    with SmtpSink(hold_reply=answer) as slow:
        settings = email_settings(slow.port)
        draft(seeded, user_id, settings)

        def impatient(raw: bytes, settings: EmailSettings, **options: Any) -> None:
            send_raw(raw, settings, timeout=0.5, **options)

        (unknown,) = deliver_queued(seeded, user_id, settings, send=impatient)
        answer.set()
        assert unknown.status == "unknown" and unknown.error is not None and "within 0.5 s" in unknown.error
        assert [d.status for d in deliver_queued(seeded, user_id, settings)] == ["unknown"]
        assert len(slow.received) == 1


def test_a_refusal_after_the_final_dot_is_a_refusal_not_unknown(seeded: sessionmaker[Session], user_id: int) -> None:
    with SmtpSink() as server:
        settings = email_settings(server.port)
        draft(seeded, user_id, settings)

        def refusing(raw: bytes, settings: EmailSettings, **options: Any) -> None:
            hook = options.pop("before_handover")
            hook()
            raise MailError("the SMTP server refused the message: 451 try later")

        (later,) = deliver_queued(seeded, user_id, settings, send=refusing)
        assert later.status == "queued"
        assert deliver_queued(seeded, user_id, settings) == [Delivery(WEEK, "sent")]


def _certificate(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a self-signed localhost certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def test_starttls_with_login(tmp_path: Path) -> None:
    server_context, client_context = _certificate(tmp_path)
    with SmtpSink(starttls=server_context, credentials=("brag", "pw")) as server:
        settings = email_settings(
            server.port, smtp_host="localhost", smtp_security="starttls", smtp_user="brag", smtp_password="pw"
        )
        send_raw(b"Subject: tls\r\n\r\nhello\r\n", settings, tls_context=client_context)
        # without STARTTLS the same server refuses the login (auth_require_tls)
        plain = email_settings(server.port, smtp_user="brag", smtp_password="pw")
        with pytest.raises(MailError):
            send_raw(b"Subject: plain\r\n\r\nhello\r\n", plain)
    assert [mail.message()["Subject"] for mail in server.received] == ["tls"]


def test_starttls_with_an_untrusted_certificate_is_refused_clearly(tmp_path: Path) -> None:
    server_context, _ = _certificate(tmp_path)
    with SmtpSink(starttls=server_context) as server:
        settings = email_settings(server.port, smtp_host="localhost", smtp_security="starttls")
        with pytest.raises(MailError, match=r"TLS with the SMTP server localhost:\d+ failed"):
            send_raw(b"Subject: x\r\n\r\nx\r\n", settings)
    assert server.received == []


def test_implicit_ssl(tmp_path: Path) -> None:
    server_context, client_context = _certificate(tmp_path)
    with SmtpSink(implicit_tls=server_context) as server:
        settings = email_settings(server.port, smtp_host="localhost", smtp_security="ssl")
        send_raw(b"Subject: ssl\r\n\r\nhello\r\n", settings, tls_context=client_context)
    assert [mail.message()["Subject"] for mail in server.received] == ["ssl"]


@pytest.mark.parametrize("key", ["to", "from"])
def test_addresses_with_line_breaks_are_configuration_errors(key: str) -> None:
    email = {"to": "me@acme.com", "from": "brag@acme.com", key: "me@acme.com\r\nBcc: evil@x"}
    with pytest.raises(ConfigError, match=rf"\[email\] {key}: must be on one line"):
        parse_settings({"email": email})


def test_email_defaults() -> None:
    settings = parse_settings({"email": {"to": "me@acme.com", "from": "brag@acme.com"}})
    assert settings.email is not None
    assert (settings.email.smtp_port, settings.email.smtp_security) == (587, "starttls")
    assert settings.web.base_url == "http://127.0.0.1:8765"
