"""A small threaded HTTP server with routing, a request log and fault injection.

Each sandbox (GitHub, later Jira and Calendar) registers its routes on one of these. The log
lets tests and benchmarks count the requests a client library really sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    status: int
    authorization: str | None


@dataclass
class Fault:
    """Answer the next `times` matching requests with this response instead of the real one."""

    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path_contains: str = ""
    # seconds to wait before answering; with status 0 the real answer follows (a slow server)
    delay: float = 0.0


Handler = Callable[[Request, re.Match[str]], Response]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out and hung up is expected in fault tests, not a sandbox error
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SandboxServer:
    """An HTTP server on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.requests: list[LoggedRequest] = []
        self._httpd = _QuietServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        # seconds to hold every answer, so a test can kill a client in the middle of a harvest
        self.delay = 0.0

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + "$"), handler))

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        path_contains: str = "",
        delay: float = 0.0,
    ) -> None:
        """Make the next `times` requests (whose path contains `path_contains`) fail with `status`.

        `status=0` with a `delay` answers normally, only late: a timeout for a client that gives up sooner.
        """
        with self._lock:
            self._faults.append(Fault(status, times, dict(headers or {}), body, path_contains, delay))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self, path_contains: str = "", method: str | None = None) -> int:
        return sum(1 for r in self.requests if path_contains in r.path and (method is None or r.method == method))

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def dispatch(self, request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        fault = self._take_fault(request.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status:
            body = fault.body if fault.body is not None else {"message": f"injected fault {fault.status}"}
            return Response(fault.status, body, dict(fault.headers))
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match:
                if method == request.method:
                    return handler(request, match)
                allowed = True
        if allowed:
            return Response(405, {"message": "Method Not Allowed"})
        return Response(404, {"message": "Not Found"})

    def _log(self, request: Request, status: int) -> None:
        with self._lock:
            self.requests.append(
                LoggedRequest(request.method, request.path, request.query, status, request.header("authorization"))
            )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                try:
                    response = server.dispatch(request)
                except Exception as exc:  # a sandbox bug must show up as a 500, not a hung client
                    response = Response(500, {"message": f"sandbox error: {type(exc).__name__}: {exc}"})
                server._log(request, response.status)
                payload = response.encode()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler
