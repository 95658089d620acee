"""A loopback news site of many small articles, for distributed crawls (tests and bench).

Run as ``python -m tests.gridsite PORTFILE LOGFILE --articles N [--latency SECONDS]``: a Twisted
web server on a free loopback port (written to PORTFILE) serving robots.txt, a sitemap index,
sitemaps of 500 articles each, and the articles (each different, so no two payloads are equal).
Every request is logged to LOGFILE as ``<epoch seconds> <path>`` when it arrives: how a test
counts what the workers fetched, and at what rate. ``--latency`` answers every request that
much later (a site far away: a crawl waits on the network, not on the CPU).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from twisted.internet import reactor, task
from twisted.web import resource, server

from tests.siteserver import ARTICLE

PER_SITEMAP = 500


def article_path(number: int) -> str:
    return f"/news/provincial-council-report-{number}.html"


def article_body(number: int) -> bytes:
    title = f"Provincial council report number {number}"
    paragraphs = "".join(
        f"<p>Report {number}, part {part}: the council of district {number % 97} approved plan {number * 7 + part} "
        f"for schools, roads and the river bank, officials said on day {part + number % 28}.</p>"
        for part in range(1, 6))
    return ARTICLE.format(title=title, lang="en", paragraphs=paragraphs).encode()


def sitemap_count(articles: int) -> int:
    return (articles + PER_SITEMAP - 1) // PER_SITEMAP


class GridSite(resource.Resource):
    isLeaf = True

    def __init__(self, articles: int, latency: float, log: Path) -> None:
        super().__init__()
        self.articles, self.latency = articles, latency
        self.log = log.open("a", buffering=1)

    def render_GET(self, request):  # noqa: N802 - Twisted's name
        path = request.uri.decode("ascii", "replace")
        self.log.write(f"{time.time():.6f} {path}\n")
        status, content_type, body = self.page(path, f"http://{request.getHeader('host')}")
        if self.latency <= 0:
            return self.answer(request, status, content_type, body)
        task.deferLater(reactor, self.latency, self.answer, request, status, content_type, body, True)
        return server.NOT_DONE_YET

    @staticmethod
    def answer(request, status: int, content_type: str, body: bytes, later: bool = False):
        request.setResponseCode(status)
        request.setHeader("Content-Type", content_type)
        request.setHeader("Content-Length", str(len(body)))
        if not later:
            return body
        if not request.finished and not request._disconnected:
            request.write(body)
            request.finish()
        return None

    def page(self, path: str, base: str) -> tuple[int, str, bytes]:
        xml = "application/xml"
        if path == "/robots.txt":
            return 200, "text/plain", f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode()
        if path == "/sitemap.xml":
            maps = "".join(f"<sitemap><loc>{base}/sitemap-{n}.xml</loc></sitemap>"
                           for n in range(1, sitemap_count(self.articles) + 1))
            return 200, xml, f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>'.encode()
        if path.startswith("/sitemap-") and path.endswith(".xml"):
            number = int(path[len("/sitemap-"):-4])
            first = (number - 1) * PER_SITEMAP + 1
            urls = "".join(f"<url><loc>{base}{article_path(n)}</loc></url>"
                           for n in range(first, min(first + PER_SITEMAP, self.articles + 1)))
            return 200, xml, f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
        if path.startswith("/news/provincial-council-report-") and path.endswith(".html"):
            number = int(path.rsplit("-", 1)[1][:-5])
            if 1 <= number <= self.articles:
                return 200, "text/html; charset=utf-8", article_body(number)
        return 404, "text/html", b"<html><body>Not found</body></html>"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("portfile", type=Path)
    parser.add_argument("logfile", type=Path)
    parser.add_argument("--articles", type=int, default=1500)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    site = server.Site(GridSite(args.articles, args.latency, args.logfile))
    site.log = lambda request: None  # the request log above is the one that counts
    port = reactor.listenTCP(0, site, interface="127.0.0.1", backlog=256)
    args.portfile.write_text(str(port.getHost().port))
    reactor.run()


if __name__ == "__main__":
    main()
