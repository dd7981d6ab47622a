"""Running the review site on a real WSGI server, in the foreground (`brag serve`) or a thread (tests, demo)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from rich.console import Console
from werkzeug.serving import make_server

from harvester.context import Context
from harvester.web.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class ReviewServer:
    """The review site bound to host:port (port 0 picks a free one); `with` serves it from a thread."""

    def __init__(
        self,
        context: Context,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        # werkzeug logs every request at INFO unless its logger has a level; follow the app's (-v shows them)
        access_log = logging.getLogger("werkzeug")
        if access_log.level == logging.NOTSET:
            access_log.setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))
        if port:
            _ensure_free(host, port)
        # werkzeug's threaded server: one user and a handful of requests; each request opens its own session
        hosts = () if host in ("0.0.0.0", "::", "") else (host,)
        self._server = make_server(host, port, create_app(context, now=now, hosts=hosts), threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def __enter__(self) -> ReviewServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="review-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()


def _ensure_free(host: str, port: int) -> None:
    """Raise OSError if host:port is taken; werkzeug would print its own message and exit the process."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.create_server((host, port), family=family):
        pass


def available_port(preferred: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> int:
    """`preferred` when nothing listens there, else any free port (the demo's links follow it)."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError(f"no free port on {host}")


def serve(context: Context, console: Console, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted, after printing where."""
    server = ReviewServer(context, host, port)
    console.print(f"Review page: {server.url}   (Ctrl-C to stop)", highlight=False, soft_wrap=True)
    # team mode signs everyone in; the single-user page has no login at all
    if host not in ("127.0.0.1", "localhost", "::1") and context.config.settings.team is None:
        console.print(
            "[yellow]warning:[/] the review page has no login; anyone who can reach this address can review.",
            highlight=False,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("Stopped.")
