"""Redirects a hostile server can send, each refused with one line and a stat.

Scrapy's RedirectMiddleware follows good redirects; this subclass first checks the target:
a ``Location`` that is no http(s) URL (``javascript:``, ``file:``, an invalid IPv6 host, a
port above 65535, nothing at all) is ``errors/bad_redirect``, a target already on the chain
is ``errors/redirect_loop``, and a chain longer than ``REDIRECT_MAX_TIMES`` is
``errors/too_many_redirects``. The 3xx exchange itself is in the WARC either way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware as ScrapyRedirectMiddleware
from scrapy.exceptions import IgnoreRequest

from crawler.urls import url_problem

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.http import Response

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class RedirectMiddleware(ScrapyRedirectMiddleware):
    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Request | Response:
        if response.status in REDIRECT_STATUSES and "Location" in response.headers and self._follows(request, response):
            location = response.headers["Location"].decode("latin-1")
            if problem := url_problem(request.url, location):
                self._refuse(request, "bad_redirect", f"Location {location[:200]!r}: {problem}")
            target = urljoin(request.url, location.strip()).split("#", 1)[0]
            if target in (*request.meta.get("redirect_urls", ()), request.url):
                self._refuse(request, "redirect_loop", f"{target} is already on the chain")
        return super().process_response(request, response)

    def _follows(self, request: Request, response: Response) -> bool:
        """Scrapy's own conditions for handling a redirect at all."""
        return not (
            request.meta.get("dont_redirect", False)
            or response.status in getattr(self.crawler.spider, "handle_httpstatus_list", ())
            or response.status in request.meta.get("handle_httpstatus_list", ())
            or request.meta.get("handle_httpstatus_all", False)
        )

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        if request.meta.get("redirect_times", 0) + 1 > self.max_redirect_times:
            self._refuse(request, "too_many_redirects", f"more than REDIRECT_MAX_TIMES={self.max_redirect_times} hops")
        return super()._redirect(redirected, request, reason)

    def _refuse(self, request: Request, kind: str, detail: str) -> None:
        start = (request.meta.get("redirect_urls") or [request.url])[0]
        logger.warning("Redirect not followed (%s): %s (from %s): %s", kind, request.url, start, detail)
        self.crawler.stats.inc_value(f"errors/{kind}")
        raise IgnoreRequest(f"redirect not followed: {kind}")
