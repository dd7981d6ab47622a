"""A local SMTP server that keeps what it receives: `brag demo` mails its digest here, tests read it.

It speaks real SMTP (aiosmtpd), optionally with STARTTLS or implicit TLS and a required login,
so the mailer is exercised exactly as against a provider's submission server.
"""

from __future__ import annotations

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
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        credentials: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()
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

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [mail.message() for mail in self.received]
