"""A small threaded HTTP server with routing, a request log and fault injection.

Each sandbox (GitHub, Jira, Calendar) registers its routes on one of these. The log lets tests
and benchmarks count the requests a client library really sent. Faults are off unless a test or
benchmark injects them: an error status, a slow answer, or a real answer spoiled on its way out
(cut short on the wire, not JSON, an HTML page, the wrong JSON shape).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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
    # send only this many bytes of the body, then hang up (Content-Length still announces all of it)
    cut_after: int | None = None
    # send the body with chunked transfer encoding instead of a Content-Length
    chunked: bool = False

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
    # with status 0: send the real answer spoiled this way (a name from SPOILS)
    spoil: str | None = None


Handler = Callable[[Request, re.Match[str]], Response]

# what a proxy, a single sign-on gateway or a maintenance page answers in place of the API
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b'<body><form method="post" action="/login"><input name="username"></form></body></html>'
)


def _cut_on_the_wire(response: Response) -> Response:
    payload = response.encode()
    return replace(response, body=payload, cut_after=len(payload) // 2)


def _chunks_cut(response: Response) -> Response:
    payload = response.encode()
    return replace(response, body=payload, chunked=True, cut_after=len(payload) // 2)


def _not_json(response: Response) -> Response:
    payload = response.encode()
    return replace(response, body=payload[: len(payload) // 2])


def _html_page(response: Response) -> Response:
    return Response(200, HTML_PAGE, {**response.headers, "Content-Type": "text/html; charset=utf-8"})


def _first_lists(value: Any, change: Callable[[list[Any]], Any]) -> Any:
    """`value` with `change` applied to every list not inside another list (the answer's items)."""
    if isinstance(value, list):
        return change(value)
    if isinstance(value, dict):
        return {key: _first_lists(item, change) for key, item in value.items()}
    return value


def _json_spoil(change: Callable[[Any], Any]) -> Callable[[Response], Response]:
    def spoil(response: Response) -> Response:
        try:
            data = json.loads(response.encode() or b"null")
        except ValueError:
            return response
        return replace(response, body=json.dumps(change(data)).encode())

    return spoil


# each way a real answer is spoiled on its way out; `inject(0, spoil=NAME)` picks one
SPOILS: Mapping[str, Callable[[Response], Response]] = {
    # the connection drops mid-body: Content-Length announces more than arrives
    "cut_on_the_wire": _cut_on_the_wire,
    # chunked transfer encoding, the connection drops before the last chunk
    "chunks_cut": _chunks_cut,
    # a JSON document cut in half, with a Content-Length that matches what is sent
    "not_json": _not_json,
    "html_page": _html_page,
    # the objects of the answer's lists sent as strings
    "items_as_strings": _json_spoil(lambda data: _first_lists(data, lambda items: [json.dumps(i) for i in items])),
    "items_null": _json_spoil(lambda data: _first_lists(data, lambda _items: None)),
    "empty_object": _json_spoil(lambda _data: {}),
    "wrapped_in_a_list": _json_spoil(lambda data: [data]),
}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_activate(self) -> None:
        super().server_activate()
        # select() can report the listening socket readable for a connection the client already
        # reset; a blocking accept() then waits for the next client, and shutdown() forever (seen
        # in a test run under load). Non-blocking, that accept raises and serve_forever goes on.
        self.socket.setblocking(False)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        connection.setblocking(True)
        return connection, address

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
        spoil: str | None = None,
    ) -> None:
        """Make the next `times` requests (whose path contains `path_contains`) fail with `status`.

        `status=0` with a `delay` answers normally, only late: a timeout for a client that gives up sooner.
        `status=0` with a `spoil` (a name from SPOILS) sends the real answer spoiled that way.
        """
        if spoil is not None and spoil not in SPOILS:
            raise ValueError(f"unknown spoil {spoil!r}; one of {sorted(SPOILS)}")
        with self._lock:
            self._faults.append(Fault(status, times, dict(headers or {}), body, path_contains, delay, spoil))

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
        response = self._route(request)
        if fault is not None and fault.spoil is not None:
            return SPOILS[fault.spoil](response)
        return response

    def _route(self, request: Request) -> Response:
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
                self._send(response)

            def _send(self, response: Response) -> None:
                payload = response.encode()
                sent = payload if response.cut_after is None else payload[: response.cut_after]
                self.send_response(response.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if response.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if response.chunked:
                    # one chunk announcing the whole body; a cut answer ends inside it
                    self.wfile.write(f"{len(payload):x}\r\n".encode() + sent)
                    if response.cut_after is None:
                        self.wfile.write(b"\r\n0\r\n\r\n")
                else:
                    self.wfile.write(sent)
                if response.cut_after is not None:
                    # hang up mid-answer, as a dropped connection does
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler
