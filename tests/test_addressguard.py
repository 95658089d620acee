"""The crawler refuses non-public addresses unless PRIVATE_ADDRESS_ALLOWLIST opts them in."""

import ipaddress
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.addressguard import Allowlist, is_forbidden, refusal
from tests.helpers import run_scrapy

ARTICLE = b"<html lang='en'><head><title>Local news</title></head><body><article><h1>Local news</h1>" + b"".join(
    b"<p>The provincial council met on Tuesday to discuss the new bridge and the budget for schools.</p>"
    for _ in range(5)
) + b"</article></body></html>"


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "127.0.0.2", "169.254.169.254", "0.0.0.0",
     "100.64.0.1", "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"],
)
def test_non_public_addresses_are_forbidden(address):
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["203.0.114.1", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert not is_forbidden(ipaddress.ip_address(address))


def test_allowlist_takes_ips_cidrs_and_host_names():
    allowlist = Allowlist.parse("127.0.0.1, 10.0.0.0/8 ,intranet.example")
    assert refusal("x", ipaddress.ip_address("127.0.0.1"), allowlist) is None
    assert refusal("x", ipaddress.ip_address("10.9.9.9"), allowlist) is None
    assert refusal("intranet.example", ipaddress.ip_address("192.168.0.5"), allowlist) is None
    assert "PRIVATE_ADDRESS_ALLOWLIST" in refusal("x", ipaddress.ip_address("127.0.0.2"), allowlist)


class Site:
    """A real HTTP server on a loopback address that records every request it gets."""

    def __init__(self, host: str) -> None:
        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                requests.append(self.path)
                body = ARTICLE if self.path.endswith(".html") else b"User-agent: *\nAllow: /\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8" if self.path.endswith(".html") else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def forbidden_site():
    site = Site("127.0.0.2")
    yield site
    site.close()


def crawl(tmp_path, url, *settings):
    stats = tmp_path / "stats.json"
    result = run_scrapy(["crawl", "news", "-a", f"url={url}", "-s", f"ARCHIVE_URI={tmp_path / 'a'}",
                         "-s", f"STATS_FILE={stats}", "-s", "AUTOTHROTTLE_ENABLED=0", *settings])
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(stats.read_text()), result.stderr


@pytest.mark.crawl
def test_ip_literal_on_loopback_is_refused_before_any_request(tmp_path, forbidden_site):
    url = f"http://127.0.0.2:{forbidden_site.port}/local-news-council-meets-1.html"
    stats, log = crawl(tmp_path, url)
    assert forbidden_site.requests == []
    assert stats["addressguard/refused"] >= 1
    assert f"Refused {url}: 127.0.0.2 is 127.0.0.2, a non-public address" in log


@pytest.mark.crawl
def test_host_name_resolving_to_loopback_is_refused(tmp_path):
    site = Site("127.0.0.1")
    try:
        stats, log = crawl(tmp_path, f"http://localhost:{site.port}/local-news-council-meets-1.html")
    finally:
        site.close()
    assert site.requests == []
    assert stats["addressguard/refused"] >= 1
    assert "Refused http://localhost:" in log and "localhost is 127.0.0.1, a non-public address" in log


@pytest.mark.crawl
def test_allowlisted_address_is_crawled(tmp_path, forbidden_site):
    url = f"http://127.0.0.2:{forbidden_site.port}/local-news-council-meets-1.html"
    stats, _ = crawl(tmp_path, url, "-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.2")
    assert "/local-news-council-meets-1.html" in forbidden_site.requests
    assert stats["extraction/articles"] == 1


@pytest.mark.crawl
def test_replay_never_resolves_names(tmp_path):
    stats, log = crawl(tmp_path, "https://lecourrier.vn/renforcer-la-cooperation-decentralisee-vietnam-japon/1296041.html",
                       "-s", "REPLAY=tests/fixtures", "-s", "RELATED_DEPTH=0")
    assert "crawler.addressguard.AddressGuardMiddleware" not in log.split("Enabled downloader middlewares:")[1].split("]")[0]
    assert stats["extraction/articles"] == 1
