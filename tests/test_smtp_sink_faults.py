"""The SMTP sink's faults as a plain SMTP client sees them: the message is kept, its acknowledgement is not sent.

benchmarks/chaos_send.py switches these faults on and off while the sink serves, so each test
changes them on a running sink too.
"""

from __future__ import annotations

import smtplib
import threading

import pytest

from harvester.sandbox.smtp import SmtpSink

MESSAGE = b"Subject: week\r\nMessage-ID: <digest-2026-W46-me@acme.com>\r\n\r\nhello\r\n"


def send(sink: SmtpSink, timeout: float = 5.0) -> None:
    with smtplib.SMTP(sink.host, sink.port, local_hostname="acme.com", timeout=timeout) as client:
        client.sendmail("brag@acme.com", ["me@acme.com"], MESSAGE)


def test_a_dropped_acknowledgement_keeps_the_message_and_the_client_hears_a_hang_up() -> None:
    with SmtpSink() as sink:
        sink.drop_after_data = 1.0
        with pytest.raises(smtplib.SMTPServerDisconnected):
            send(sink)
        assert sink.dropped == 1
        (kept,) = sink.received
        assert kept.message()["Message-ID"] == "<digest-2026-W46-me@acme.com>"


def test_with_the_drop_switched_off_the_next_message_is_acknowledged() -> None:
    with SmtpSink(drop_after_data=1.0) as sink:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            send(sink)
        sink.drop_after_data = 0.0
        send(sink)
        assert len(sink.received) == 2 and sink.dropped == 1


def test_a_held_reply_keeps_the_message_before_the_client_hears_anything() -> None:
    with SmtpSink() as sink:
        answer = threading.Event()
        sink.hold_reply = answer
        # a client that gives up first never hears the 250 of a message the server already has
        with pytest.raises((smtplib.SMTPServerDisconnected, TimeoutError)):
            send(sink, timeout=0.5)
        assert len(sink.received) == 1
        answer.set()
        sink.hold_reply = None
        send(sink)
        assert len(sink.received) == 2
