"""The WARC records each exchange as it went over the wire: status lines and header lines as
received, bodies over DOWNLOAD_MAXSIZE cut and marked, credentials kept out.

The pages come from a raw HTTP server on 127.0.0.1 (a thread of the test process) that writes
the exact bytes of each answer, so no HTTP library tidies them first."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socketserver
import threading
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.faultproxy import ClientGone, read_request_head
from tests.helpers import run_scrapy
from tests.siteserver import article
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl  # scrapy crawls a raw server on loopback

MAXSIZE, WARNSIZE = 256 * 1024, 64 * 1024
SECRET_TOKEN = "Bearer token-0f9e8d7c"
PROXY_USER, PROXY_PASSWORD = "crawler", "pa55-w0rd-9731"
NON_ASCII = "Tin tức".encode()  # UTF-8 bytes in a header value (obs-text)
LIVE = ["-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
        "-s", "RELATED_DEPTH=0", "-s", "RETRY_ENABLED=0", "-s", f"DOWNLOAD_MAXSIZE={MAXSIZE}",
        "-s", f"DOWNLOAD_WARNSIZE={WARNSIZE}"]


def head(status: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join([f"HTTP/1.1 {status}\r\n".encode(), *(n + b": " + v + b"\r\n" for n, v in headers), b"\r\n"])


def html(title: str, paragraphs: int = 6) -> bytes:
    return article(title, paragraphs=paragraphs)


def whole(status: str, headers: list[tuple[bytes, bytes]], body: bytes) -> list[bytes]:
    return [head(status, [*headers, (b"Content-Length", str(len(body)).encode()), (b"Connection", b"close")]) + body]


def chunked(body: bytes, size: int = 16 * 1024) -> list[bytes]:
    parts = [head("200 OK", [(b"Content-Type", b"text/html; charset=utf-8"), (b"Transfer-Encoding", b"chunked"),
                             (b"Connection", b"close")])]
    parts += [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return [*parts, b"0\r\n\r\n"]


HTML = (b"Content-Type", b"text/html; charset=utf-8")
BIG = html("An oversized report", paragraphs=6000)  # about 800 kB, over MAXSIZE
PAGES: dict[str, list[bytes]] = {
    "/robots.txt": whole("200 OK", [(b"Content-Type", b"text/plain")], b"User-agent: *\nAllow: /\n"),
    "/news/totally-fine-article-1.html": whole("200 Totally Fine", [
        (b"content-type", b"text/html; charset=utf-8"), (b"X-Trace", b"first"), (b"Set-Cookie", b"a=1; Path=/"),
        (b"x-TRACE", b"second"), (b"SET-COOKIE", b"b=2; Path=/"), (b"X-Note", NON_ASCII),
    ], html("Totally fine article")),
    "/news/no-phrase-article-2.html": whole("200", [HTML], html("Article without a reason phrase")),
    "/news/announced-oversized-article-3.html": whole("200 OK", [HTML], BIG),
    "/news/chunked-oversized-article-4.html": chunked(BIG),
    "/news/gzip-bomb-article-5.html": whole("200 OK", [HTML, (b"Content-Encoding", b"gzip")],
                                            gzip.compress(b"\0" * (20 << 20), mtime=0)),
    "/news/authorized-article-6.html": whole("200 OK", [HTML], html("Article behind a token")),
    "/news/proxied-article-7.html": whole("200 OK", [HTML], html("Article through a proxy")),
}
TRUNCATED = ["/news/announced-oversized-article-3.html", "/news/chunked-oversized-article-4.html"]
BOMB = "/news/gzip-bomb-article-5.html"


class RawSite(socketserver.ThreadingTCPServer):
    """Answers each request with the bytes of ``PAGES`` (by path, absolute-form targets too:
    it is its own proxy), one request per connection; records the request heads."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def heads_for(self, path: str) -> list[list[tuple[str, str]]]:
        return [headers for target, headers in self.requests if re.sub(r"^http://[^/]+", "", target) == path]


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            request = read_request_head(self.rfile)
        except (ClientGone, OSError, ValueError):
            return
        self.server.requests.append((request.target, request.headers))
        path = re.sub(r"^http://[^/]+", "", request.target)
        try:
            for part in PAGES.get(path) or whole("404 Not Found", [HTML], b"<html><body>Not found</body></html>"):
                self.wfile.write(part)
        except OSError:
            pass  # the crawler hung up (a body cut at DOWNLOAD_MAXSIZE)


@pytest.fixture(scope="module")
def site():
    server = RawSite()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def crawl_into(tmp: Path, urls: list[str], *args: str) -> tuple[Path, dict, str]:
    (tmp / "urls.txt").write_text("\n".join(urls) + "\n")
    result = run_scrapy(["crawl", "news", "-a", f"urls_file={tmp / 'urls.txt'}", "-s", f"ARCHIVE_URI={tmp / 'archive'}",
                         "-s", f"STATS_FILE={tmp / 'stats.json'}", *LIVE, *args])
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "archive", json.loads((tmp / "stats.json").read_text()), result.stderr


@pytest.fixture(scope="module")
def crawl(site, tmp_path_factory):
    """Every page but the proxied one, each request carrying an Authorization header."""
    paths = [p for p in PAGES if p not in ("/robots.txt", "/news/proxied-article-7.html")]
    headers = json.dumps({"Authorization": SECRET_TOKEN, "Accept": "text/html"})
    return crawl_into(tmp_path_factory.mktemp("wire"), [site.base + p for p in paths],
                      "-s", f"DEFAULT_REQUEST_HEADERS={headers}")


def records(archive: Path, kinds: tuple[str, ...] = ("response",)) -> list:
    found = []
    for path in sorted(archive.glob("warc/*/*.warc.gz")):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type in kinds:
                    found.append((record.rec_headers, record.http_headers, record.raw_stream.read()))  # as stored
    return found


def record_of(archive: Path, url: str, kind: str = "response"):
    [found] = [r for r in records(archive, (kind,)) if r[0].get_header("WARC-Target-URI") == url]
    return found


def warc_bytes(archive: Path) -> bytes:
    return b"".join(gzip.decompress(p.read_bytes()) for p in sorted(archive.glob("warc/*/*.warc.gz")))


def test_reason_phrase_is_recorded_as_received(crawl, site):
    archive, _, _ = crawl
    http = record_of(archive, site.base + "/news/totally-fine-article-1.html")[1]
    assert (http.protocol, http.statusline) == ("HTTP/1.1", "200 Totally Fine")


def test_missing_reason_phrase_stays_missing(crawl, site):
    archive, _, _ = crawl
    assert b"\r\nHTTP/1.1 200\r\n" in warc_bytes(archive)
    assert record_of(archive, site.base + "/news/no-phrase-article-2.html")[1].statusline == "200"


def test_header_order_case_and_repeats_are_recorded_as_received(crawl, site):
    archive = crawl[0]
    http = record_of(archive, site.base + "/news/totally-fine-article-1.html")[1]
    names = [name for name, _ in http.headers]
    assert names == ["content-type", "X-Trace", "Set-Cookie", "x-TRACE", "SET-COOKIE", "X-Note", "Content-Length", "Connection"]
    assert [v for k, v in http.headers if k.lower() == "x-trace"] == ["first", "second"]
    assert [v for k, v in http.headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]


def test_header_bytes_outside_ascii_are_recorded_as_received(crawl):
    archive, _, _ = crawl
    assert b"\r\nX-Note: " + NON_ASCII + b"\r\n" in warc_bytes(archive)


@pytest.mark.parametrize("path", TRUNCATED)
def test_body_over_maxsize_is_recorded_cut_with_warc_truncated_length(crawl, site, path):
    archive, stats, _ = crawl
    warc, http, payload = record_of(archive, site.base + path)
    assert warc.get_header("WARC-Truncated") == "length"
    assert payload == BIG[:MAXSIZE]
    assert http.get_header("Content-Length") == str(MAXSIZE)  # describes the stored body
    assert http.get_header("Transfer-Encoding") is None
    assert stats["warc/truncated"] == len(TRUNCATED)


def test_cut_body_is_logged_once_counted_and_not_extracted(crawl, site):
    archive, stats, log = crawl
    assert stats["maxsize/truncated"] == len(TRUNCATED)
    extracted = [json.loads(line)["url"] for p in archive.glob("items/news/*.jsonl") if not p.name.endswith(
        (".stories.jsonl",)) for line in p.read_text().splitlines()]
    for path in TRUNCATED:
        warnings = [line for line in log.splitlines() if "WARNING" in line and site.base + path in line]
        assert len(warnings) == 1 and "Truncated" in warnings[0] and "WARC-Truncated: length" in warnings[0], warnings
        assert site.base + path not in extracted
    assert len(extracted) == 3  # the whole pages: fine, no phrase, authorized


def test_gzip_bomb_is_archived_whole_counted_and_logged_once_without_traceback(crawl, site):
    archive, stats, log = crawl
    url = site.base + BOMB
    warc, http, payload = record_of(archive, url)
    assert warc.get_header("WARC-Truncated") is None and http.get_header("Content-Encoding") == "gzip"
    assert payload == PAGES[BOMB][0].split(b"\r\n\r\n", 1)[1]  # as received, still encoded
    assert stats["maxsize/decompression"] == 1
    warnings = [line for line in log.splitlines() if "WARNING" in line and url in line]
    assert len(warnings) == 1 and "DOWNLOAD_MAXSIZE" in warnings[0], warnings
    assert "Traceback" not in log


def test_warcs_with_cut_and_bomb_records_pass_the_strict_checks(crawl, site, tmp_path):
    archive, _, _ = crawl
    ok = [site.base + p for p in PAGES if p not in ("/robots.txt", "/news/proxied-article-7.html")]
    report = validate_warcs(archive / "warc", ok, tmp_path)
    assert report.failures == []
    assert report.replayed == len(ok)


def test_authorization_is_sent_but_redacted_in_the_request_record(crawl, site):
    archive, _, _ = crawl
    path = "/news/authorized-article-6.html"
    assert ("Authorization", SECRET_TOKEN) in site.heads_for(path)[0]
    request = record_of(archive, site.base + path, "request")[1]
    assert request.get_header("Authorization") == "[redacted]"
    assert SECRET_TOKEN.encode() not in warc_bytes(archive)


def test_proxy_credentials_reach_the_proxy_but_no_warc_or_log(site, tmp_path, monkeypatch):
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{site.server_address[1]}")
    path = "/news/proxied-article-7.html"
    archive, stats, log = crawl_into(tmp_path, [site.base + path], "-s", "LOG_LEVEL=DEBUG")
    basic = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    assert ("Proxy-Authorization", f"Basic {basic}") in site.heads_for(path)[-1]  # it went through the proxy
    assert record_of(archive, site.base + path, "request")[1].get_header("Proxy-Authorization") == "[redacted]"
    assert stats["extraction/articles"] == 1
    files = b"".join(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
                     for p in archive.rglob("*") if p.is_file())
    for secret in (PROXY_PASSWORD, basic):
        assert secret.encode() not in files + warc_bytes(archive)
        assert secret not in log


def test_replay_keeps_the_recorded_phrase_header_order_and_truncation(crawl, site, tmp_path):
    archive, _, _ = crawl
    fine, cut = site.base + "/news/totally-fine-article-1.html", site.base + TRUNCATED[0]
    replayed, stats, _ = crawl_into(tmp_path, [fine, cut], "-s", f"REPLAY={archive / 'warc'}")
    recorded, again = record_of(archive, fine)[1], record_of(replayed, fine)[1]
    assert again.statusline == "200 Totally Fine"
    assert [n for n, _ in again.headers] == [n for n, _ in recorded.headers]
    assert record_of(replayed, cut)[0].get_header("WARC-Truncated") == "length"
    assert stats["maxsize/truncated"] == 1 and stats["extraction/articles"] == 1
