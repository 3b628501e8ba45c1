"""A reverse proxy on loopback in front of the moto S3 server that injects the faults real object
stores produce: 503 SlowDown, 500 InternalError, a connection reset before the response, a
response body cut off half-way, a delay. boto3 talks to the proxy as its endpoint_url; everything
not faulted is forwarded to moto unchanged, so the pipeline runs against a real S3 API.

    with FaultProxy(moto_endpoint) as proxy:
        proxy.inject("503", times=3)                                # the next 3 requests
        proxy.inject("reset", method="PUT", path=r"/exports/", after=2)  # the 3rd PUT under exports/
        proxy.inject("500", method="PUT", path=r"contacts\\.csv", times=None)  # every one, for good
        ... boto3 with endpoint_url=proxy.url ...
        proxy.injected  # how many faults were served
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("503", "500", "reset", "truncate", "delay")
_ERROR_BODIES = {
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


@dataclass
class Rule:
    """Fire `fault` on requests matching method and path (a regex searched in path?query):
    the first `after` matches pass, then the next `times` fire (None: all of them)."""

    fault: str
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    after: int = 0
    delay: float = 0.0
    seen: int = 0
    fired: int = 0
    _pattern: re.Pattern | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        self._pattern = re.compile(self.path) if self.path else None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def should_fire(self) -> bool:
        """Called under the proxy's lock for each matching request."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


class FaultProxy:
    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, str]] = []  # (method, path, status or fault)
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- programming faults --------------------------------------------------------------------
    def inject(
        self, fault: str, *, method: str | None = None, path: str | None = None, times: int | None = 1,
        after: int = 0, delay: float = 0.0,
    ) -> Rule:
        rule = Rule(fault, method, path, times, after, delay)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(r.fired for r in self.rules)

    def requests(self, method: str | None = None, path: str | None = None) -> list[tuple[str, str, str]]:
        pattern = re.compile(path) if path else None
        with self._lock:
            return [
                entry for entry in self.log
                if (method is None or entry[0] == method) and (pattern is None or pattern.search(entry[1]))
            ]

    def _choose(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path) and rule.should_fire():
                    return rule
        return None

    def _record(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.log.append((method, path, outcome))


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a read timeout) closes the socket under a delayed handler:
        # expected here, not worth a traceback.
        pass


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            return

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reset(self) -> None:
            # SO_LINGER 0: close() sends RST, as a load balancer dropping the connection does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()

        def _error(self, status: int, code: str, message: str) -> None:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None,
                             headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            finally:
                conn.close()

        def _handle(self) -> None:
            body = self._body()
            rule = proxy._choose(self.command, self.path)
            fault = rule.fault if rule else None
            if fault in _ERROR_BODIES:
                proxy._record(self.command, self.path, fault)
                self._error(*_ERROR_BODIES[fault])
                return
            if fault == "reset":
                proxy._record(self.command, self.path, fault)
                self._reset()
                return
            if fault == "delay":
                time.sleep(rule.delay)
            try:
                status, reason, headers, data = self._forward(body)
            except OSError:  # the upstream went away (the test is over): the client sees a reset
                proxy._record(self.command, self.path, "upstream-error")
                self._reset()
                return
            proxy._record(self.command, self.path, fault or str(status))
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() in _HOP_BY_HOP or (name.lower() == "content-length" and self.command != "HEAD"):
                    continue
                self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault == "truncate" and len(data) > 1:
                # Headers promise the whole body; half of it arrives, then the connection dies.
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self._reset()
                return
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler
