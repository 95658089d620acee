"""Retries that listen to the server: ``Retry-After`` honoured, broken HTTP not retried.

A 429 or 503 with ``Retry-After`` (seconds or an HTTP date, RFC 9110 10.2.3) pauses the
whole host for that long (``retry_after/honoured``), then retries; a wait over
``RETRY_AFTER_MAX`` seconds is not waited for (``retry_after/too_long``): the page is given
up this crawl. A response that is no HTTP (``bad_response``) is not retried: servers that
send garbage send it again. Everything else is Scrapy's RetryMiddleware.
"""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware as ScrapyRetryMiddleware
from scrapy.utils.asyncio import call_later
from scrapy.utils.response import response_status_message

from crawler.failures import failure_kind

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

RETRY_AFTER_STATUSES = frozenset({429, 503})
DEFAULT_RETRY_AFTER_MAX = 120.0
NOT_RETRIED = frozenset({"bad_response"})


def retry_after_seconds(value: str, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it says nothing usable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryMiddleware(ScrapyRetryMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        middleware.retry_after_max = crawler.settings.getfloat("RETRY_AFTER_MAX", DEFAULT_RETRY_AFTER_MAX)
        middleware.paused_until = {}  # download slot -> monotonic time before which it sends nothing
        return middleware

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Request | Response:
        value = response.headers.get("Retry-After")
        if response.status not in RETRY_AFTER_STATUSES or not value or request.meta.get("dont_retry"):
            return super().process_response(request, response)
        seconds = retry_after_seconds(value.decode("latin-1"))
        if seconds is None:
            return super().process_response(request, response)
        if seconds > self.retry_after_max:
            logger.warning("Not retrying %s: HTTP %d asks to wait %.0f s, over RETRY_AFTER_MAX=%.0f",
                           request.url, response.status, seconds, self.retry_after_max)
            self.crawler.stats.inc_value("retry_after/too_long")
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        self.crawler.stats.inc_value("retry_after/honoured")
        self._pause_slot(request, seconds)
        return retry

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> Request | None:
        if failure_kind(exception) in NOT_RETRIED:
            return None
        return super().process_exception(request, exception)

    def _pause_slot(self, request: Request, seconds: float) -> None:
        """No request to this download slot (host) before ``seconds`` from now.

        Scrapy has no public way to hold a slot: its downloader holds one while ``slot.latercall``
        is pending (the seam of DOWNLOAD_DELAY), so the pause is that call, made later. A pause
        only ever grows: a shorter Retry-After of another page does not cut a longer one short.
        """
        downloader = self.crawler.engine.downloader
        key, slot = downloader._get_slot(request)
        until = time.monotonic() + seconds
        if until <= self.paused_until.get(key, 0):
            return
        self.paused_until[key] = until
        if slot.latercall is not None:
            slot.latercall.cancel()
        slot.latercall = call_later(seconds, downloader._latercall, slot)
        logger.info("Pausing %s for %.1f s: the server asked to retry %s after that", key, seconds, request.url)
