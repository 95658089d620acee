"""An HTTP proxy on loopback that breaks chosen S3 requests, to test retries against moto.

moto always answers; real S3 resets connections, answers 500 and 503 SlowDown, and stalls.
``FaultProxy`` sits between boto3 and a moto server (``tests.s3server.S3Server``) in a
background thread of the test process, forwards every HTTP/1.1 request unchanged (Host
header included: moto does not check signatures) and injects the faults of a plan::

    with S3Server() as s3, FaultProxy(upstream=s3.endpoint) as proxy:
        client = s3.client(endpoint_url=proxy.endpoint, config=Config(read_timeout=1, ...))
        proxy.set_plan(["503", None, "reset"])          # PUT and POST requests only
        client.put_object(...)
        assert proxy.injected == {"503": 1, "reset": 1}

Plan: a list of fault names, one consumed per *matching* request (its method is in the
plan's method set, PUT and POST by default: uploads and multipart create/part/complete).
Other requests, and matching ones once the plan is used up, are forwarded normally.

    ``"reset"``               read the headers and half the body, then close with a TCP RST
                              (SO_LINGER 0); not forwarded
    ``"reset_after_forward"`` forward to moto (the object IS stored), then RST the client
                              without relaying the answer
    ``"500"``                 ``500 Internal Server Error`` with S3's InternalError XML; not forwarded
    ``"503"``                 ``503 Slow Down`` with S3's SlowDown XML; not forwarded
    ``"stall"``               read the request, send nothing for ``stall_seconds``, close; not forwarded
    ``None`` / ``"pass"``     forward normally (consumes a plan entry)

API:
    ``FaultProxy(upstream, stall_seconds=3.0, idle_timeout=60.0)``: context manager (or
        ``start()`` / ``stop()``); ``upstream`` must be an http:// URL on loopback.
    ``.endpoint``                 "http://127.0.0.1:PORT" of the proxy
    ``.set_plan(plan, methods=("PUT", "POST"), stall_seconds=None)``: replace the plan
    ``.plan``                     the entries not yet consumed (a copy)
    ``.counts``                   {"requests": n, "forwarded": n, "PUT": n, "GET": n, ...}
    ``.injected``                 {"reset": n, "503": n, ...}: faults injected by kind
    ``.log``                      [(method, target, fault)]: target is path and query as sent,
                                  fault is None for a forwarded request
    ``.clear()``                  zero the counters and the log (the plan is kept)
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import socketserver
import struct
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from typing import Self

FAULTS = frozenset({"reset", "reset_after_forward", "500", "503", "stall", "pass"})
DEFAULT_METHODS = frozenset({"PUT", "POST"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_LINE = 65536
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
                        "trailer", "upgrade", "expect"})

ERROR_BODIES = {
    "500": (500, "Internal Server Error", "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
}


class ClientGone(Exception):
    """The client closed its connection (between requests, or mid-request)."""


class Request:
    """One parsed client request; the body is read separately, since faults may cut it short."""

    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]]) -> None:
        self.method, self.target, self.version, self.headers = method, target, version, headers

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only if asked."""
        tokens = {t.strip().lower() for t in (self.header("Connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("Transfer-Encoding") or "").lower()

    @property
    def content_length(self) -> int:
        value = self.header("Content-Length")
        return int(value) if value else 0


def _readline(rfile: IO[bytes]) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("header line too long")
    return line


def _read_exact(rfile: IO[bytes], size: int) -> bytes:
    data = rfile.read(size)
    if len(data) != size:
        raise ClientGone("connection closed mid-body")
    return data


def read_request_head(rfile: IO[bytes]) -> Request:
    """Request line and headers, raw and in order (duplicates kept)."""
    line = _readline(rfile)
    while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between requests
        line = _readline(rfile)
    if not line:
        raise ClientGone("closed between requests")
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        line = _readline(rfile)
        if not line:
            raise ClientGone("closed in headers")
        if line in (b"\r\n", b"\n"):
            return Request(method.upper(), target, version.strip(), headers)
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))


def read_body(rfile: IO[bytes], request: Request) -> bytes:
    """The whole body, de-chunked if sent with ``Transfer-Encoding: chunked``."""
    if not request.chunked:
        return _read_exact(rfile, request.content_length)
    parts = []
    while True:
        size_line = _readline(rfile)
        if not size_line:
            raise ClientGone("closed in chunked body")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while _readline(rfile) not in (b"\r\n", b"\n", b""):  # trailers: dropped
                pass
            return b"".join(parts)
        parts.append(_read_exact(rfile, size))
        _readline(rfile)  # CRLF after the chunk


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Threaded TCP server that remembers its live connections, so stop() can cut and join them."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.live: dict[threading.Thread, socket.socket] = {}
        self.live_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        thread = threading.Thread(target=self._run, args=(request, client_address), daemon=True,
                                  name=f"faultproxy-conn-{client_address[1]}")
        with self.live_lock:
            self.live[thread] = request
        thread.start()

    def _run(self, request: socket.socket, client_address: tuple) -> None:
        try:
            with contextlib.suppress(Exception):  # a broken client connection must not print tracebacks
                self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            with self.live_lock:
                self.live.pop(threading.current_thread(), None)

    def handle_error(self, request: object, client_address: object) -> None:
        """Connection errors are the point of this proxy: stay quiet."""


class _Handler(socketserver.BaseRequestHandler):
    """One client connection: requests in a loop while the client keeps it alive."""

    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        sock: socket.socket = self.request
        sock.settimeout(proxy.idle_timeout)
        rfile = sock.makefile("rb")
        try:
            while not proxy._stopping.is_set():
                try:
                    request = read_request_head(rfile)
                except (ClientGone, OSError, ValueError):
                    return
                if not self._serve(request, rfile, sock):
                    return
        except (ClientGone, OSError, ValueError):
            return
        finally:
            rfile.close()

    def _serve(self, request: Request, rfile: IO[bytes], sock: socket.socket) -> bool:
        """Answer (or break) one request; False when the connection must end."""
        proxy = self.server.proxy
        fault = proxy._next_fault(request.method)
        if (request.header("Expect") or "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # boto3 waits for it before sending big bodies
        if fault == "reset":
            if not request.chunked:
                _read_exact(rfile, request.content_length // 2)
            proxy._record(request, fault)
            self._reset(rfile, sock)
            return False
        body = read_body(rfile, request)
        if fault in ERROR_BODIES:
            proxy._record(request, fault)
            status, reason, code, message = ERROR_BODIES[fault]
            xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                   f"<Message>{message}</Message></Error>").encode()
            headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))]
            self._send(sock, request, status, reason, headers, xml)
            return request.keep_alive
        if fault == "stall":
            proxy._record(request, fault)
            proxy._stopping.wait(proxy.stall_seconds)
            return False
        try:
            status, reason, headers, payload = proxy._forward(request, body)
        except (OSError, http.client.HTTPException) as exc:
            proxy._record(request, "upstream_error")
            text = f"fault proxy: upstream {proxy.upstream} failed: {exc!r}".encode()
            self._send(sock, request, 502, "Bad Gateway",
                       [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))], text)
            return False
        if fault == "reset_after_forward":
            proxy._record(request, fault, forwarded=True)
            self._reset(rfile, sock)
            return False
        proxy._record(request, None, forwarded=True)
        self._send(sock, request, status, reason, headers, payload)
        return request.keep_alive

    @staticmethod
    def _send(sock: socket.socket, request: Request, status: int, reason: str,
              headers: list[tuple[str, str]], body: bytes) -> None:
        connection = "keep-alive" if request.keep_alive else "close"
        head = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), f"Connection: {connection}"]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        sock.sendall(data if request.method == "HEAD" else data + body)

    @staticmethod
    def _reset(rfile: IO[bytes], sock: socket.socket) -> None:
        """Close with a TCP RST: the client sees 'connection reset', not a clean end."""
        rfile.close()  # the makefile holds a reference: the socket only closes once it is gone
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


class FaultProxy:
    """Forwards HTTP/1.1 to a loopback upstream, injecting planned faults; counts what it did."""

    def __init__(self, upstream: str, stall_seconds: float = 3.0, idle_timeout: float = 60.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK or not parts.port:
            raise ValueError(f"upstream must be http://127.0.0.1:PORT (loopback only), not {upstream!r}")
        self.upstream = upstream
        self._upstream_addr = (parts.hostname, parts.port)
        self.stall_seconds = stall_seconds
        self.idle_timeout = idle_timeout
        self.endpoint = ""
        self._lock = threading.Lock()
        self._plan: list[str] = []
        self._methods = DEFAULT_METHODS
        self._counts: Counter[str] = Counter()
        self._injected: Counter[str] = Counter()
        self._log: list[tuple[str, str, str | None]] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        """Listen on a free loopback port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("FaultProxy already started")
        self._stopping.clear()
        self._server = _Server(self)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="faultproxy-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, cut live connections, join every thread; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes stalls
        server.shutdown()
        assert self._thread is not None
        self._thread.join(timeout)
        with server.live_lock:
            live = list(server.live.items())
        for _thread, sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading a kept-alive connection
            except OSError:
                pass
        for thread, _sock in live:
            thread.join(timeout)
        server.server_close()
        stuck = [t.name for t, _ in live if t.is_alive()]
        if self._thread.is_alive() or stuck:
            raise RuntimeError(f"fault proxy threads did not stop: {stuck or [self._thread.name]}")

    # -- plan and counters ---------------------------------------------------------------
    def set_plan(self, plan: Sequence[str | None], methods: Iterable[str] = DEFAULT_METHODS,
                 stall_seconds: float | None = None) -> None:
        """Replace the plan: one fault per request whose method is in ``methods``."""
        entries = ["pass" if f is None else f for f in plan]
        unknown = sorted(set(entries) - FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(FAULTS)} or None")
        with self._lock:
            self._plan = entries
            self._methods = frozenset(m.upper() for m in methods)
            if stall_seconds is not None:
                self.stall_seconds = stall_seconds

    @property
    def plan(self) -> list[str]:
        """Plan entries not consumed yet."""
        with self._lock:
            return list(self._plan)

    @property
    def counts(self) -> dict[str, int]:
        """{"requests": n, "forwarded": n, <METHOD>: n}: a snapshot."""
        with self._lock:
            return {"requests": 0, "forwarded": 0, **self._counts}

    @property
    def injected(self) -> dict[str, int]:
        """Faults injected, by kind (a snapshot; "pass" entries are not faults)."""
        with self._lock:
            return dict(self._injected)

    @property
    def log(self) -> list[tuple[str, str, str | None]]:
        """(method, target, fault or None) per request, in order (a snapshot)."""
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        """Zero the counters and the log; the plan stays."""
        with self._lock:
            self._counts.clear()
            self._injected.clear()
            self._log.clear()

    def _next_fault(self, method: str) -> str | None:
        with self._lock:
            if method in self._methods and self._plan:
                fault = self._plan.pop(0)
                return None if fault == "pass" else fault
            return None

    def _record(self, request: Request, fault: str | None, forwarded: bool = False) -> None:
        with self._lock:
            self._counts["requests"] += 1
            self._counts[request.method] += 1
            if forwarded:
                self._counts["forwarded"] += 1
            if fault is not None:
                self._injected[fault] += 1
            self._log.append((request.method, request.target, fault))

    # -- forwarding ----------------------------------------------------------------------
    def _forward(self, request: Request, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request to the upstream as the client sent it; the whole response back."""
        host, port = self._upstream_addr
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    conn.putheader(name, value)
            if request.chunked or request.header("Content-Length") is not None:
                conn.putheader("Content-Length", str(len(body)))  # a chunked body goes on de-chunked
            conn.putheader("Connection", "close")
            conn.endheaders(body or None)
            response = conn.getresponse()
            payload = response.read()
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            if request.method != "HEAD" and response.status not in (204, 304):
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(payload))))
            return response.status, response.reason, headers, payload
        finally:
            conn.close()
