"""What happens to responses over ``DOWNLOAD_MAXSIZE`` once the WARC has them.

Both kinds are archived (WarcCapture writes every response as it is downloaded, before any
downloader middleware) and then dropped here, with one warning line each and no traceback:

- ``TruncatedResponseMiddleware``: a body the download handler cut at the limit
  (``crawler.download``, flag ``truncated``; in the WARC with ``WARC-Truncated: length``).
  Half a page is no article and half a sitemap is no list: it goes no further
  (``maxsize/truncated``). It sits just before decompression, which would choke on a cut
  gzip stream.
- ``CountingHttpCompressionMiddleware``: Scrapy's ``HttpCompressionMiddleware``, which drops
  a response whose *decoded* body would pass the limit (a gzip or brotli bomb: a few kB on
  the wire, gigabytes decoded), counted (``maxsize/decompression``). The WARC keeps the
  body as received, still encoded.

  It is handed the compressed response as a plain ``Response``: Scrapy's middleware makes the
  decoded one with ``response.replace()``, which reads every attribute of the old response,
  and the ``encoding`` of a compressed HTML response is a charset detection (charset_normalizer)
  over gzip bytes, 3 ms a page thrown away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from crawler.received import TRUNCATED_FLAG

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from typing_extensions import Self


class TruncatedResponseMiddleware:
    """Drops responses cut at DOWNLOAD_MAXSIZE after they are archived (the cut was logged)."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if TRUNCATED_FLAG in response.flags:
            self.stats.inc_value("maxsize/truncated")
            raise IgnoreRequest(f"Truncated at DOWNLOAD_MAXSIZE: {response.url}")
        return response


class CountingHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, counting the responses it drops over DOWNLOAD_MAXSIZE."""

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Request | Response:
        if isinstance(response, TextResponse) and request.method != "HEAD" and response.headers.get("Content-Encoding"):
            response = Response(**{name: getattr(response, name) for name in Response.attributes})
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            # Scrapy's middleware raises IgnoreRequest only for a body decoded past the limit,
            # after its own one-line warning; Scrapy logs no traceback for IgnoreRequest.
            if self.stats is not None:
                self.stats.inc_value("maxsize/decompression")
            raise
