"""robots.txt as RFC 9309 reads it (Scrapy's middleware allows everything when it fails).

- 2xx: the rules, parsed from the first ``ROBOTSTXT_MAX_SIZE`` bytes (RFC 9309 2.5: at least
  500 KiB must be parsed; a bigger file is cut there, ``robotstxt/truncated``).
- 4xx (but 429): "unavailable", every page may be crawled.
- 5xx, 429, or no answer at all (timeout, reset, refused): "unreachable", no page of the
  host is crawled in this crawl (``robotstxt/unreachable``), one line per host.
Redirects (up to five hops, as the RFC asks) and retries are the downloader's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from crawler.failures import DownloadFailed, failure_detail, failure_kind

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
DEFAULT_MAX_SIZE = 512 * 1024
MAX_REDIRECTS = 5


class RFC9309RobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_size = crawler.settings.getint("ROBOTSTXT_MAX_SIZE", DEFAULT_MAX_SIZE)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            url = urlparse_cached(request)
            robots = Request(
                f"{url.scheme}://{netloc}/robots.txt", priority=self.DOWNLOAD_PRIORITY, callback=NO_CALLBACK,
                meta={"dont_obey_robotstxt": True, "redirect_ttl": MAX_REDIRECTS},
            )
            self._stats.inc_value("robotstxt/request_count")
            try:
                response = await self.crawler.engine.download_async(robots)
            except DownloadFailed as exc:
                self._unreachable(netloc, exc.kind)
            except IgnoreRequest:
                self._settle(netloc, None)  # refused before it was sent (address guard): so are its pages
            except Exception as exc:  # noqa: BLE001 - whatever the network did, the host is unreachable
                self._unreachable(netloc, f"{failure_kind(exc)}: {failure_detail(exc)}")
            else:
                await self._parse_robots(response, netloc, request)
        parser = self._parsers[netloc]
        return await maybe_deferred_to_future(parser) if isinstance(parser, Deferred) else parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if response.status >= 500 or response.status == 429:
            self._unreachable(netloc, f"HTTP {response.status}")
            return
        body = response.body if 200 <= response.status < 300 else b""  # 3xx left over, 4xx: unavailable
        if len(body) > self.max_size:
            logger.warning("robots.txt of %s is %d bytes: only its first %d are read", netloc, len(body), self.max_size)
            self._stats.inc_value("robotstxt/truncated")
            body = body[: body.rfind(b"\n", 0, self.max_size) + 1]
        parser = build_from_crawler(self._parserimpl, self.crawler, body)
        await self.crawler.signals.send_catch_log_async(signal=signals.robots_parsed, robotparser=parser, request=request)
        self._settle(netloc, parser)

    def _unreachable(self, netloc: str, why: str) -> None:
        logger.warning("robots.txt of %s is unreachable (%s): none of its pages is crawled (RFC 9309)", netloc, why)
        self._stats.inc_value("robotstxt/unreachable")
        self._settle(netloc, build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL))

    def _settle(self, netloc: str, parser: RobotParser | None) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)
