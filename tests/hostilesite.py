"""A hostile news site on loopback: everything a web server can send, and some it should not.

``HostileSite`` starts raw HTTP servers in threads (the bytes on the wire are the case, so no
HTTP library shapes them): the main site on 127.0.0.1, one server per robots.txt behaviour
(robots.txt is per host and port), and a "forbidden" server on 127.0.0.2 and 127.0.0.3 that
no request may ever reach. Every server records what it was asked for, so tests see what
the crawler did, not only what it says.

``CASES`` names each page of the main site and what it does; ``tests/test_hostile.py``
holds what the crawler must do with each. ``python -m tests.hostilesite`` serves the site
until interrupted (for trying a crawl by hand, or ``bench/``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import random
import re
import socket
import socketserver
import struct
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from tests.faultproxy import ClientGone, Request, read_request_head

SENTENCES = [
    "The provincial council approved the new budget for schools and hospitals on Tuesday.",
    "Officials said the bridge over the river would open to traffic before the end of the year.",
    "Farmers in the delta expect a larger rice harvest after a season of steady rain.",
    "The port handled a record number of containers in the third quarter, the authority said.",
]
# Vietnamese with every kind of diacritic (tone marks over modified vowels): NFC and NFD differ.
VIETNAMESE = [
    "Hội đồng nhân dân tỉnh đã thông qua ngân sách mới cho trường học và bệnh viện vào thứ Ba.",
    "Các quan chức cho biết cây cầu bắc qua sông sẽ thông xe trước cuối năm nay.",
    "Nông dân ở đồng bằng kỳ vọng vụ lúa bội thu sau một mùa mưa thuận lợi.",
    "Cảng đã xử lý lượng container kỷ lục trong quý ba, theo ban quản lý cảng.",
]
TRICKLE_SECONDS = 60  # a trickling server outlasts any sane download timeout


def article(title: str, sentences: list[str] = SENTENCES, paragraphs: int = 8, lang: str = "en",
            charset: str | None = "utf-8", extra: str = "") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "".join(f"<p>{sentences[i % len(sentences)]} ({i + 1})</p>" for i in range(paragraphs))
    return (f'<!DOCTYPE html><html lang="{lang}"><head>{meta}<title>{title}</title>'
            '<meta property="og:type" content="article">'
            '<meta property="article:published_time" content="2025-11-25T10:00:00+07:00"></head>'
            f'<body><nav><a href="/">Home</a></nav><article><h1>{title}</h1>{body}</article>{extra}'
            "<footer><p>Hostile Daily, 1 Loopback Street.</p></footer></body></html>")


@dataclass
class Hit:
    server: str
    host: str
    path: str
    at: float


class Connection:
    """One request on one connection; a case writes raw bytes to it."""

    def __init__(self, sock: socket.socket, rfile: IO[bytes], request: Request, site: Server) -> None:
        self.sock, self.rfile, self.request, self.server = sock, rfile, request, site

    def send(self, status: str, headers: list[tuple[str, str]], body: bytes = b"", length: bool = True) -> None:
        head = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
        if length:
            head.append(f"Content-Length: {len(body)}")
        head.append("Connection: close")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def html(self, page: str | bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK",
             headers: list[tuple[str, str]] = ()) -> None:
        body = page.encode("utf-8") if isinstance(page, str) else page
        self.send(status, [("Content-Type", content_type), *headers], body)

    def redirect(self, location: str | None, status: str = "302 Found") -> None:
        self.send(status, [("Location", location)] if location is not None else [])

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reset(self) -> None:
        """A TCP RST: the client sees 'connection reset', not a clean end."""
        self.rfile.close()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def hold(self, seconds: float) -> None:
        """Keep the connection open and silent (until the client gives up, or the site stops)."""
        self.server.stopping.wait(seconds)


Handler = Callable[[Connection], None]


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, name: str, host: str, routes: dict[str, Handler], hits: list[Hit], port: int = 0) -> None:
        self.name, self.routes, self.hits = name, routes, hits
        self.stopping = threading.Event()
        super().__init__((host, port), _ConnectionHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                                       name=f"hostile-{name}")

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        """Broken connections are the point of this site: stay quiet."""


class _ConnectionHandler(socketserver.BaseRequestHandler):
    server: Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(TRICKLE_SECONDS + 5)
        rfile = sock.makefile("rb")
        try:
            request = read_request_head(rfile)
        except (ClientGone, OSError, ValueError):
            return
        path = request.target.split("?", 1)[0].split(";", 1)[0]
        self.server.hits.append(Hit(self.server.name, request.header("Host") or "", request.target, time.monotonic()))
        route = self.server.routes.get(path) or self.server.routes.get("*")
        with contextlib.suppress(OSError):
            if route is None:
                Connection(sock, rfile, request, self.server).html("<h1>Not found</h1>", status="404 Not Found")
            else:
                route(Connection(sock, rfile, request, self.server))


# -- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    path: str
    handler: Handler
    about: str


def _page(title: str, **kwargs: object) -> Handler:
    page = article(title, **kwargs)
    return lambda c: c.html(page)


def _bytes(body: bytes, content_type: str = "text/html", headers: list[tuple[str, str]] = ()) -> Handler:
    return lambda c: c.send("200 OK", [("Content-Type", content_type), *headers], body)


def _deep_page(levels: int) -> bytes:
    inner = "".join(f"<p>{s}</p>" for s in SENTENCES * 3)
    return (f"<html><head><title>Deep nesting</title></head><body><article><h1>Deep nesting</h1>"
            f"{'<div>' * levels}{inner}{'</div>' * levels}</article></body></html>").encode()


def _wide_page(nodes: int) -> bytes:
    spans = "".join(f"<span>w{i}</span> " for i in range(nodes))
    return (f"<html><head><title>A hundred thousand nodes</title></head><body><article><h1>Wide</h1>"
            f"<p>{SENTENCES[0]}</p><div>{spans}</div><p>{SENTENCES[1]}</p></article></body></html>").encode()


def _gzip_bomb(size: int) -> bytes:
    # Zeros compress about a thousandfold: a small download that would inflate to `size` bytes.
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as bomb:
        block = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            bomb.write(block)
    return buffer.getvalue()


def _huge(size: int) -> Handler:
    def send(c: Connection) -> None:
        head = article("A thirty megabyte page").split("</article>")[0].encode()
        c.send("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(size))], length=False)
        c.raw(head)
        filler = b"<p>" + b"x" * 1020 + b"</p>"
        sent = len(head)
        while sent + len(filler) <= size:
            c.raw(filler)
            sent += len(filler)
        c.raw(b" " * (size - sent))
    return send


def _cut(after: int, total: int, reset: bool) -> Handler:
    def send(c: Connection) -> None:
        body = article("Cut short", paragraphs=200).encode()
        c.raw(f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {total}\r\n\r\n".encode() + body[:after])
        time.sleep(0.2)
        if reset:
            c.reset()
    return send


def _trickle(c: Connection) -> None:
    c.raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>")
    for _ in range(TRICKLE_SECONDS):
        if c.server.stopping.wait(1):
            return
        c.raw(b" ")


def _once_then(first: Handler, then: Handler) -> Handler:
    seen: set[str] = set()

    def handle(c: Connection) -> None:
        if c.request.target in seen:
            then(c)
        else:
            seen.add(c.request.target)
            first(c)
    return handle


def _redirect(location: str | None, status: str = "302 Found") -> Handler:
    return lambda c: c.redirect(location, status)


def _status(status: str, headers: list[tuple[str, str]] = ()) -> Handler:
    return lambda c: c.html(f"<h1>{status}</h1>", status=status, headers=headers)


def _calendar(c: Connection) -> None:
    # /trap/calendar/YYYY-MM/ lists one article and the previous month, forever.
    month = c.request.target.rstrip("/").rsplit("/", 1)[-1]
    year, mon = (int(x) for x in month.split("-")) if month[:4].isdigit() else (2025, 11)
    previous = f"{year - (mon == 1)}-{(mon - 2) % 12 + 1:02d}"
    c.html(f'<html><head><title>Archive {month}</title></head><body><h1>Archive {month}</h1>'
           f'<a href="/good/provincial-budget-approved-today.html">Budget</a>'
           f'<a rel="next" href="/trap/calendar/{previous}/">Older</a></body></html>')


VIETNAMESE_MODIFIERS = {"\u0302", "\u0306", "\u031b"}  # circumflex, breve, horn: precomposed in windows-1258


def _cp1258(text: str) -> bytes:
    """Vietnamese as windows-1258 writes it: modified vowels precomposed, tone marks combining."""
    out = []
    for cluster in re.findall(r".[\u0300-\u036f]*", unicodedata.normalize("NFD", text), re.DOTALL):
        base, marks = cluster[0], cluster[1:]
        modifiers = "".join(m for m in marks if m in VIETNAMESE_MODIFIERS)
        out.append(unicodedata.normalize("NFC", base + modifiers) + "".join(m for m in marks if m not in VIETNAMESE_MODIFIERS))
    return "".join(out).encode("cp1258")


def _cases(forbidden: str) -> list[Case]:
    vi = article("Ngân sách tỉnh được thông qua", VIETNAMESE, lang="vi")
    nfd = unicodedata.normalize("NFD", article("Ngân sách tỉnh được thông qua", VIETNAMESE, lang="vi"))
    invalid_utf8 = article("Invalid bytes in the middle").encode().replace(b"bridge", b"bri\xff\xfedge")
    rng = random.Random(61)
    return [
        # Pages that are fine: the crawl must still get them, whatever surrounds them.
        Case("/good/provincial-budget-approved-today.html", _page("Provincial budget approved"), "a good article"),
        Case("/good/bridge-opens-before-new-year.html", _page("Bridge opens before the new year"), "a good article"),
        # HTML that is no article, or is hard to parse.
        Case("/html/empty-page-case.html", _bytes(b""), "empty 200 page"),
        Case("/html/whitespace-only-page-case.html", _bytes(b" \r\n\t \n"), "only whitespace"),
        Case("/html/script-only-page-case.html", _bytes(b"<script>document.write('<p>hi</p>')</script>"), "script only"),
        Case("/html/hundred-thousand-nodes-page.html", _bytes(_wide_page(100_000)), "100k-node page"),
        Case("/html/ten-thousand-levels-deep-page.html", _bytes(_deep_page(10_000)), "10k-level-deep page"),
        Case("/html/unclosed-and-misnested-tags-page.html",
             _bytes(article("Broken markup").replace("</p>", "<b><i></p></b>").encode()[:-40]), "malformed HTML"),
        Case("/html/unrequestable-links-and-canonical-page.html",
             _page("Links that name no server", extra='<link rel="canonical" href="http://[oops/">'
                   '<a href="http://[::1/x">a</a><a href="http://127.0.0.1:99999/b">b</a>'
                   '<a href="javascript:void(0)">c</a><a href="mailto:desk@example.org">d</a>'),
             "links and canonical that are no URLs"),
        Case("/html/nul-bytes-in-markup-page.html", _bytes(article("NUL bytes inside").encode().replace(b"<p>", b"<p>\0", 3)),
             "NUL bytes in HTML"),
        # Charsets.
        Case("/charset/header-latin1-meta-utf8-page.html",
             _bytes(vi.encode(), "text/html; charset=iso-8859-1"), "header and meta charsets disagree"),
        Case("/charset/windows-1258-vietnamese-page.html",
             _bytes(_cp1258(article("Ngân sách tỉnh được thông qua", VIETNAMESE, lang="vi", charset="windows-1258")),
                    "text/html; charset=windows-1258"), "windows-1258"),
        Case("/charset/utf-16-with-bom-page.html",
             _bytes(article("UTF-16 page", charset=None).encode("utf-16"), "text/html"), "UTF-16 with a BOM"),
        Case("/charset/invalid-utf8-bytes-page.html", _bytes(invalid_utf8, "text/html; charset=utf-8"), "invalid UTF-8"),
        Case("/charset/decomposed-vietnamese-nfd-page.html", _bytes(nfd.encode(), "text/html; charset=utf-8"),
             "decomposed Vietnamese"),
        Case("/charset/unknown-charset-name-page.html", _bytes(vi.encode(), "text/html; charset=x-no-such-charset"),
             "unknown charset name"),
        # Bodies that are no HTML, or too big.
        Case("/binary/pdf-served-as-html-page.html", _bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(20_000)),
             "PDF served as text/html"),
        Case("/binary/random-bytes-as-html-page.html", _bytes(rng.randbytes(50_000)), "random bytes as text/html"),
        Case("/binary/png-without-content-type-page.html",
             lambda c: c.send("200 OK", [], b"\x89PNG\r\n\x1a\n" + rng.randbytes(20_000)), "PNG, no Content-Type"),
        Case("/binary/gzip-bomb-page.html",
             _bytes(_gzip_bomb(64 << 20), headers=[("Content-Encoding", "gzip")]), "gzip bomb (64 MiB of zeros)"),
        Case("/binary/thirty-megabyte-page.html", _huge(30 << 20), "30 MB HTML page"),
        # Redirects.
        Case("/redirect/loop-a-page.html", _redirect("/redirect/loop-b-page.html"), "redirect loop"),
        Case("/redirect/loop-b-page.html", _redirect("/redirect/loop-a-page.html"), "redirect loop"),
        *[Case(f"/redirect/chain-{i}-page.html", _redirect(f"/redirect/chain-{i + 1}-page.html"),
               "redirect chain of 15") for i in range(1, 15)],
        Case("/redirect/chain-15-page.html", _page("End of a long chain"), "redirect chain of 15"),
        Case("/redirect/short-chain-page.html", _redirect("/redirect/short-chain-2-page.html", "301 Moved"),
             "redirect chain of 2"),
        Case("/redirect/short-chain-2-page.html", _redirect("/good/bridge-opens-before-new-year.html"),
             "redirect chain of 2"),
        Case("/redirect/javascript-location-page.html", _redirect("javascript:alert(1)"), "javascript: Location"),
        Case("/redirect/bad-ipv6-location-page.html", _redirect("http://[::zz]/x"), "invalid IPv6 host"),
        Case("/redirect/port-too-large-page.html", _redirect("http://127.0.0.1:99999/x"), "port above 65535"),
        Case("/redirect/empty-location-page.html", _redirect(""), "empty Location"),
        Case("/redirect/no-location-page.html", _redirect(None), "3xx without Location"),
        Case("/redirect/file-scheme-page.html", _redirect("file:///etc/passwd"), "file: Location"),
        Case("/redirect/to-forbidden-address-page.html",
             _redirect(f"{forbidden}/forbidden-by-redirect-page.html"), "redirect to a forbidden address"),
        # Broken HTTP.
        Case("/http/garbage-status-line-page.html", lambda c: c.raw(b"HTTP/1.1 abc def\r\n\r\n<html></html>"),
             "garbage status line"),
        Case("/http/not-http-at-all-page.html", lambda c: c.raw(b"SSH-2.0-OpenSSH_9.6\r\n"), "not HTTP"),
        Case("/http/bad-content-length-page.html",
             lambda c: c.raw(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n<html></html>"), "bad Content-Length"),
        Case("/http/bad-chunk-size-page.html",
             lambda c: c.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n<html>\r\n0\r\n\r\n"),
             "bad chunk size"),
        Case("/http/reset-mid-body-page.html", _cut(5000, 40_000, reset=True), "reset mid-body"),
        Case("/http/closed-mid-body-page.html", _cut(5000, 40_000, reset=False), "closed mid-body"),
        Case("/http/reset-before-answer-page.html", lambda c: c.reset(), "reset before any answer"),
        Case("/http/trickling-page.html", _trickle, "a byte a second"),
        Case("/http/never-answers-page.html", lambda c: c.hold(TRICKLE_SECONDS), "no answer at all"),
        Case("/http/reason-phrase-page.html",
             lambda c: c.send("200 Totally Fine", [("Content-Type", "text/html; charset=utf-8")],
                              article("Totally fine reason phrase").encode()), "unusual reason phrase"),
        Case("/http/too-many-requests-page.html",
             _once_then(_status("429 Too Many Requests", [("Retry-After", "2")]), _page("Answered after Retry-After")),
             "429 with Retry-After, then 200"),
        Case("/http/service-unavailable-storm-page.html", _status("503 Service Unavailable", [("Retry-After", "1")]),
             "503 every time"),
        Case("/http/internal-error-page.html", _status("500 Internal Server Error"), "500"),
        Case("/http/gone-page.html", _status("410 Gone"), "410"),
        # Traps.
        Case("/trap/session-id-page.html", _page("Session ids in URLs"), "session ids in URLs"),
    ]


@dataclass
class HostileSite:
    """Every server of the site; ``with HostileSite() as site:`` serves it."""

    hits: list[Hit] = field(default_factory=list)
    servers: dict[str, Server] = field(default_factory=dict)

    def __enter__(self) -> HostileSite:
        self.servers["forbidden2"] = Server("forbidden2", "127.0.0.2", {"*": _page("Forbidden page")}, self.hits)
        port = self.servers["forbidden2"].port
        self.servers["forbidden3"] = Server("forbidden3", "127.0.0.3", {"*": _page("Forbidden page")}, self.hits, port)
        self.cases = _cases(f"http://127.0.0.2:{port}")
        routes = {case.path: case.handler for case in self.cases}
        routes["/robots.txt"] = lambda c: c.send("404 Not Found", [("Content-Type", "text/plain")], b"")
        routes["/"] = lambda c: c.html(
            '<html><head><title>Hostile Daily</title></head><body><h1>Latest</h1>'
            '<a href="/good/provincial-budget-approved-today.html">Budget</a>'
            '<a href="/good/bridge-opens-before-new-year.html">Bridge</a>'
            '<a rel="next" href="/trap/calendar/2025-11/">Older</a></body></html>')
        self.servers["main"] = Server("main", "127.0.0.1", routes, self.hits)
        self.servers["main"].routes["*"] = self._main_fallback
        page = _page("Behind robots.txt")
        for name, robots in self.robots_behaviours().items():
            self.servers[name] = Server(name, "127.0.0.1", {"/robots.txt": robots, "*": page}, self.hits)
        for server in self.servers.values():
            server.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            server.stopping.set()
            server.shutdown()
            server.server_close()

    def _main_fallback(self, c: Connection) -> None:
        if c.request.target.startswith("/trap/calendar/"):
            _calendar(c)
        elif c.request.target.startswith("/trap/long/"):
            c.html(article("A page with a very long URL"))
        else:
            c.html("<h1>Not found</h1>", status="404 Not Found")

    @staticmethod
    def robots_behaviours() -> dict[str, Handler]:
        """robots.txt answers, each on its own server (RFC 9309: unreachable means disallow, 4xx allow)."""
        huge = b"# padding\n" * 250_000 + b"User-agent: *\nDisallow: /\n"
        return {
            "robots-500": _status("500 Internal Server Error"),
            "robots-503": _status("503 Service Unavailable"),
            "robots-timeout": lambda c: c.hold(TRICKLE_SECONDS),
            "robots-reset": lambda c: c.reset(),
            "robots-404": _status("404 Not Found"),
            "robots-403": _status("403 Forbidden"),
            "robots-huge": lambda c: c.send("200 OK", [("Content-Type", "text/plain")], huge),
            "robots-disallow": lambda c: c.send("200 OK", [("Content-Type", "text/plain")], b"User-agent: *\nDisallow: /\n"),
        }

    def url(self, path: str, server: str = "main", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.servers[server].port}{path}"

    def requested(self, server: str = "main") -> list[str]:
        return [hit.path for hit in self.hits if hit.server == server]


if __name__ == "__main__":
    with HostileSite() as hostile:
        for case in hostile.cases:
            print(hostile.url(case.path), "#", case.about)
        for name in hostile.robots_behaviours():
            print(hostile.url("/robots-case-page.html", name), "#", name)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
