"""The digest as a real SMTP server receives it, and what happens when SMTP fails."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from digest_support import BASE_URL, EVIL_TITLE, WEEK, email_settings, seed
from sqlalchemy.orm import Session, sessionmaker

from harvester import links
from harvester.config import EmailSettings, parse_settings
from harvester.digest.outbox import Delivery, deliver_queued, load_digest, queue_digest
from harvester.errors import ConfigError
from harvester.mailer import MailError, send_raw
from harvester.sandbox.smtp import SmtpSink, free_port
from harvester.store import repository

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
        secret = repository.app_secret(session, links.SECRET_NAME)
    tokens = re.findall(re.escape(BASE_URL) + r"/r/([A-Za-z0-9_.\-]+)", html)
    decoded = {links.read_token(secret, token) for token in tokens}
    assert decoded == {
        links.ReviewLink("me", candidate, action)
        for candidate in ("c-pay", "c-evil", "c-old")
        for action in ("approve", "reject", "review")
    }
    assert set(re.findall(re.escape(BASE_URL) + r"/r/([A-Za-z0-9_.\-]+)", text)) == set(tokens)


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


def test_a_send_interrupted_by_a_crash_is_released(seeded: sessionmaker[Session], user_id: int, sink: SmtpSink) -> None:
    settings = email_settings(sink.port)
    draft(seeded, user_id, settings)

    def crash(raw: bytes, settings: EmailSettings, recipients: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deliver_queued(seeded, user_id, settings, send=crash)
    assert outbox(seeded, user_id)[0] == "queued"
    deliver_queued(seeded, user_id, settings)
    assert len(sink.received) == 1


def test_a_week_claimed_by_another_process_is_not_sent_again(
    seeded: sessionmaker[Session], user_id: int, sink: SmtpSink
) -> None:
    settings = email_settings(sink.port)
    draft(seeded, user_id, settings)
    with seeded.begin() as session:
        row = repository.digest_row(session, user_id, WEEK)
        assert row is not None and repository.claim_digest(session, row.id)
    assert deliver_queued(seeded, user_id, settings) == []
    # until the claim is so old that its process must have died
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert deliver_queued(seeded, user_id, settings, now=later) == [Delivery(WEEK, "sent")]
    assert len(sink.received) == 1


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
