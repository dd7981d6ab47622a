"""A local SMTP server that keeps what it receives: `brag demo` mails its digest here, tests read it.

It speaks real SMTP (aiosmtpd), optionally with STARTTLS or implicit TLS and a required login,
so the mailer is exercised exactly as against a provider's submission server. Two faults, off by
default, reproduce the one window SMTP leaves open: the server keeps the message after the final
"." and then drops the connection (`drop_after_data`, a probability) or answers only when told to
(`hold_reply`), so the client never hears that it was accepted.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None

    def message(self) -> EmailMessage:
        message = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = getattr(session, "auth_data", None) if session.authenticated else None
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or envelope.content),
            login=login.decode() if isinstance(login, bytes) else None,
        )
        with self.sink.lock:
            self.sink.received.append(mail)
            dropped = self.sink.rolls_drop()
        if dropped:
            # accepted and kept, but the 250 never reaches the client
            server.transport.abort()
            return "250 OK: queued (never heard)"
        if self.sink.hold_reply is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.sink.hold_reply.wait)
        return "250 OK: queued"


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.user,
            self.password,
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


class _Controller(Controller):
    def factory(self) -> Any:
        # aiosmtpd warns on every connection when a login is taken without TLS; the sink does that on purpose
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return super().factory()  # type: ignore[no-untyped-call]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """`with SmtpSink() as sink:` serves on 127.0.0.1:`sink.port`; `sink.received` lists the mail.

    credentials: require this login; starttls: offer STARTTLS with this server context;
    implicit_tls: wrap the whole connection in TLS (port-465 style) with this context.
    drop_after_data: the probability (0 to 1) that an accepted message's connection is dropped
    before the 250; `dropped` counts those. hold_reply: answer DATA only once this event is set.
    Both are read at each message, so a benchmark can switch them while the sink serves.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        credentials: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        drop_after_data: float = 0.0,
        hold_reply: threading.Event | None = None,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self.drop_after_data = drop_after_data
        self.hold_reply = hold_reply
        self.dropped = 0
        self._random = random.Random(seed)
        options: dict[str, Any] = {}
        if credentials is not None:
            options.update(
                authenticator=_Authenticator(*credentials),
                auth_required=True,
                # without TLS the sink takes a login in clear: it is on loopback, and it tests smtp_security = "none"
                auth_require_tls=starttls is not None,
            )
        if starttls is not None:
            options.update(tls_context=starttls)
        self._controller = _Controller(
            _Handler(self),
            hostname=host,
            port=self.port,
            ssl_context=implicit_tls,
            server_hostname="localhost",
            **options,
        )

    def rolls_drop(self) -> bool:
        """Whether to drop this message's acknowledgement (called under `lock`)."""
        if self.drop_after_data <= 0 or self._random.random() >= self.drop_after_data:
            return False
        self.dropped += 1
        return True

    def start(self) -> SmtpSink:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        # idempotent: a test that takes the server down (an outage) leaves the fixture to stop it again
        if getattr(self, "_running", False):
            self._controller.stop()
            self._running = False

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [mail.message() for mail in self.received]
