"""Per-host politeness shared by every worker of a distributed crawl, through Redis.

Scrapy's download delay, AutoThrottle and per-domain concurrency hold within one process: N
workers would fetch a site N times as fast. ``SharedHostLimitsMiddleware`` gates each download
on two limits kept in Redis (docs/distributed.md):

- ``HOST_RATE_LIMIT``: requests per second to one host, all workers together. Each request
  reserves the next free instant of its host (a generic cell rate algorithm: one Redis script
  moves the host's next instant on by ``1 / rate`` and returns the wait) and is sent then.
- ``HOST_CONCURRENCY_LIMIT``: requests in flight to one host, all workers together. A request
  holds a token in the host's sorted set until its response or error; a token of a worker that
  died expires after ``DOWNLOAD_TIMEOUT`` plus a minute.

In a distributed crawl they default to one process's own limits (``1 / DOWNLOAD_DELAY`` and
``CONCURRENT_REQUESTS_PER_DOMAIN``), which they then replace: N workers fetch a site no faster
than one. Keys: ``<prefix>:host:<host:port>:next``, ``...:inflight``, and ``...:minute:<epoch minute>``
(requests sent in that minute: what ``scrapy workers`` reports as the host's rate).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import task

from crawler import distributed

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

TOKEN = "news_host_token"  # request.meta: the concurrency token the request holds

# KEYS: the host's next free instant. ARGV: seconds between requests. Returns the wait, in seconds.
RESERVE = distributed._NOW + """
local interval = tonumber(ARGV[1])
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.6f', at + interval), 'PX', math.ceil((at + interval - now) * 1000) + 60000)
return string.format('%.6f', at - now)
"""

# KEYS: the host's tokens in flight. ARGV: limit, token, seconds it may be held. Returns 1 if taken.
ACQUIRE = distributed._NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
  return 1
end
return 0
"""


def shared_limits(settings: BaseSettings) -> tuple[float, int]:
    """(requests per second, requests in flight) per host across the workers; 0 is no limit."""
    rate, concurrency = settings.get("HOST_RATE_LIMIT"), settings.get("HOST_CONCURRENCY_LIMIT")
    if rate is None:
        delay = settings.getfloat("DOWNLOAD_DELAY")
        rate = 1 / delay if delay > 0 else 0
    if concurrency is None:
        concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    return float(rate), int(concurrency)


class SharedHostLimitsMiddleware:
    def __init__(self, crawler: Crawler, server: Redis, rate: float, concurrency: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.server = server
        self.prefix = distributed.key_prefix(crawler.settings)
        self.interval = 1 / rate if rate > 0 else 0.0
        self.concurrency = concurrency
        self.token_lease = crawler.settings.getfloat("DOWNLOAD_TIMEOUT") + 60
        self._reserve = server.register_script(RESERVE)
        self._acquire = server.register_script(ACQUIRE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not distributed.enabled(settings) or settings.get("REPLAY"):
            raise NotConfigured
        rate, concurrency = shared_limits(settings)
        # Even without limits: it counts each host's requests per minute for ``scrapy workers``.
        return cls(crawler, distributed.redis_server(settings), rate, concurrency)

    def _key(self, request: Request, what: str) -> str:
        return f"{self.prefix}:host:{urlparse_cached(request).netloc.lower()}:{what}"

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.concurrency > 0:
            token = uuid.uuid4().hex
            waited, pause = 0.0, 0.02
            while not self._acquire(keys=[self._key(request, "inflight")], args=[self.concurrency, token, self.token_lease]):
                await _sleep(pause)
                waited += pause
                pause = min(pause * 1.5, 0.25)
            request.meta[TOKEN] = token
            if waited:
                self.stats.inc_value("hostlimits/concurrency_waits")
        minute = f"{self._key(request, 'minute')}:{int(time.time() // 60)}"
        self.server.pipeline(transaction=False).incr(minute).expire(minute, 180).execute()
        if self.interval > 0:
            wait = float(self._reserve(keys=[self._key(request, "next")], args=[f"{self.interval:.6f}"]))
            if wait > 0:
                self.stats.inc_value("hostlimits/rate_waits")
                await _sleep(wait)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        if (token := request.meta.pop(TOKEN, None)) is not None:
            self.server.zrem(self._key(request, "inflight"), token)


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor

    await maybe_deferred_to_future(task.deferLater(reactor, max(0.0, seconds)))
