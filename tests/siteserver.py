"""A news site on loopback with every HTTP shape an archive must keep.

Run as ``python -m tests.siteserver HOST PORTFILE``: a Twisted web server on a free port
(written to PORTFILE) serving gzip and br bodies, chunked bodies, a redirect chain,
repeated Set-Cookie and Link headers, a query string, a Vietnamese path, a 404, a 500,
a 5 MB page, a binary image, a byte-identical copy of a page, and a slow page.
"""

from __future__ import annotations

import gzip
import random
import sys
from pathlib import Path

import brotli
from twisted.internet import reactor, task
from twisted.web import resource, server

ARTICLE = """<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2025-11-25T10:00:00+07:00"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<article><h1>{title}</h1>{paragraphs}</article>
<footer><p>Example Daily, 1 Example Street. All rights reserved.</p></footer></body></html>"""

SENTENCES = [
    "The provincial council approved the new budget for schools and hospitals on Tuesday.",
    "Officials said the bridge over the river would open to traffic before the end of the year.",
    "Farmers in the delta expect a larger rice harvest after a season of steady rain.",
    "The port handled a record number of containers in the third quarter, the authority said.",
]


def article(title: str, lang: str = "en", paragraphs: int = 6) -> bytes:
    body = "".join(f"<p>{SENTENCES[i % len(SENTENCES)]} ({title}, part {i + 1}.)</p>" for i in range(paragraphs))
    return ARTICLE.format(title=title, lang=lang, paragraphs=body).encode("utf-8")


GZIP_PAGE = gzip.compress(article("Gzip encoded article"), mtime=0)


def big_page() -> bytes:
    page = article("A very long report", paragraphs=45000)
    assert len(page) > 5_000_000
    return page


def jpeg() -> bytes:
    rng = random.Random(7)
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(rng.getrandbits(8) for _ in range(40_000)) + b"\xff\xd9"


class Page(resource.Resource):
    isLeaf = True

    def __init__(self, body: bytes, status: int = 200, headers: list[tuple[str, str]] = (), chunked: bool = False):
        super().__init__()
        self.body, self.status, self.headers, self.chunked = body, status, list(headers), chunked

    def render_GET(self, request):  # noqa: N802 - Twisted's name
        request.setResponseCode(self.status)
        for name, value in self.headers:
            request.responseHeaders.addRawHeader(name, value)
        if not any(n.lower() == "content-type" for n, _ in self.headers):
            request.setHeader("Content-Type", "text/html; charset=utf-8")
        if self.chunked:
            # Twisted sends HTTP/1.1 bodies without a Content-Length as chunked.
            for start in range(0, len(self.body), 4096):
                request.write(self.body[start:start + 4096])
            request.finish()
            return server.NOT_DONE_YET
        request.setHeader("Content-Length", str(len(self.body)))
        return self.body


class Slow(resource.Resource):
    """Answers after a delay: keeps a crawl busy long enough to be killed mid-way."""

    isLeaf = True

    def render_GET(self, request):  # noqa: N802
        def answer():
            body = article(f"Slow article {request.path.decode()}")
            request.setHeader("Content-Type", "text/html; charset=utf-8")
            request.setHeader("Content-Length", str(len(body)))
            request.write(body)
            request.finish()

        task.deferLater(reactor, 0.4, answer)
        return server.NOT_DONE_YET


class Site(resource.Resource):
    def __init__(self) -> None:
        super().__init__()
        self.pages = {
            "/robots.txt": Page(b"User-agent: *\nAllow: /\n", headers=[("Content-Type", "text/plain")]),
            "/news/gzip-encoded-article-1.html": Page(GZIP_PAGE, headers=[("Content-Encoding", "gzip")]),
            "/news/copy-of-gzip-encoded-article-1.html": Page(GZIP_PAGE, headers=[("Content-Encoding", "gzip")]),
            "/news/brotli-encoded-article-2.html": Page(
                brotli.compress(article("Brotli encoded article")), headers=[("Content-Encoding", "br")]
            ),
            "/news/chunked-article-3.html": Page(article("Chunked article", paragraphs=40), chunked=True),
            "/news/chunked-gzip-article-4.html": Page(
                gzip.compress(article("Chunked gzip article", paragraphs=40), mtime=0),
                headers=[("Content-Encoding", "gzip")], chunked=True,
            ),
            "/old/redirect-start": Page(b"", 302, [("Location", "/old/redirect-middle")]),
            "/old/redirect-middle": Page(b"", 301, [("Location", "/news/redirect-destination-article-5.html")]),
            "/news/redirect-destination-article-5.html": Page(article("Redirect destination article")),
            "/news/cookies-and-links-article-6.html": Page(article("Cookies and links article"), headers=[
                ("Set-Cookie", "session=abc; Path=/; HttpOnly"), ("Set-Cookie", "consent=yes; Path=/"),
                ("Link", "</static/a.css>; rel=preload; as=style"), ("Link", "</static/b.js>; rel=preload; as=script"),
            ]),
            "/search?q=gunma&page=2": Page(article("Search results page for gunma")),
            "/tin-tức/bài-viết-tiếng-việt-7.html": Page(article("Bài viết tiếng Việt về hợp tác địa phương", "vi")),
            "/news/missing-article-8.html": Page(article("Not found"), 404),
            "/news/server-error-article-9.html": Page(b"<html><body><h1>500 Internal Server Error</h1></body></html>", 500),
            "/news/very-long-report-article-10.html": Page(big_page()),
            "/images/photo-11.jpg": Page(jpeg(), headers=[("Content-Type", "image/jpeg")]),
        }
        self.slow = Slow()

    def getChild(self, path, request):  # noqa: N802
        return self

    def render_GET(self, request):  # noqa: N802
        path = request.uri.decode("ascii")
        from urllib.parse import unquote

        if path.startswith("/slow/"):
            return self.slow.render_GET(request)
        page = self.pages.get(unquote(path))
        if page is None:
            return Page(b"<html><body>Not found</body></html>", 404).render_GET(request)
        return page.render_GET(request)


def urls(base: str) -> dict[str, str]:
    """Path of each resource -> its absolute URL (Vietnamese path percent-encoded)."""
    from urllib.parse import quote

    return {path: base + quote(path, safe="/?=&") for path in Site().pages}


def main(host: str, portfile: str) -> None:
    port = reactor.listenTCP(0, server.Site(Site()), interface=host)
    Path(portfile).write_text(str(port.getHost().port))
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
