"""Incremental crawls: fetch only what is new or changed (README, "Scheduled crawls").

``IncrementalMiddleware`` (a downloader middleware) reads the crawl state before each request
and writes it after each response:

- an article page that is not due is not requested (``incremental/skipped_by_policy``), unless
  its sitemap ``lastmod`` or feed date has moved past its last fetch; sitemaps, feeds and
  listing pages are fetched every run;
- every page the archive already holds is asked for conditionally (``If-None-Match``,
  ``If-Modified-Since``); a ``304`` carries the earlier capture in ``request.meta`` so that
  WarcCapture writes a server-not-modified revisit of it;
- a sitemap, feed or listing answered ``304`` names nothing: the spider then requests the
  articles of its site that are due (``NewsSpider._due_articles``).

The recheck policy (``next_check``): after its text is first stored or changes, an article is
rechecked after each of ``RECHECK_INTERVALS`` in turn (1 h, 6 h, 24 h, then weekly by default),
never once it is older than ``RECHECK_MAX_AGE`` (by its published date, else its first fetch).
``RECRAWL=True`` fetches everything in full, whatever the state.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.dates import parse_datetime
from crawler.state import CrawlState, PageState, crawl_state, now
from crawler.urls import url_key

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

KIND = "news_kind"  # the spider's discovery kind (crawler.spiders.base)
LISTED_AT = "news_listed_at"  # epoch of the sitemap lastmod / feed date that listed the page
CONDITIONAL_FOR = "incremental_conditional_for"  # the URL key our conditional headers were made for
NOT_MODIFIED_ORIGINAL = "incremental_original"  # the capture a 304 would confirm: {uri, date, record_id}
PAYLOAD_CAPTURE = "warc_payload_capture"  # set by WarcCapture on a 200: the record holding its payload
ALWAYS_FETCHED = ("sitemap", "feed", "listing", "start")  # lists of articles: every run
# Kinds of page rows besides the lists': an article stored, a page fetched but not processed yet
# (fetched in full and due again soon), and a page that is no article or is gone.
ARTICLE, PENDING, OTHER = "article", "pending", "other"
EXPLICIT = ("url",)  # asked for by name (-a url): always fetched, conditionally
DEFAULT_INTERVALS = "1h,6h,24h,7d"
DEFAULT_MAX_AGE = "30d"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(value: str | float) -> float:
    """Seconds of ``90``, ``15m``, ``6h``, ``7d``, ``2w``."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r} (a number with s, m, h, d or w)")
    return float(match[1]) * _UNIT[match[2]]


@dataclass(frozen=True)
class RecheckPolicy:
    intervals: tuple[float, ...]
    max_age: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RecheckPolicy:
        intervals = settings.get("RECHECK_INTERVALS") or DEFAULT_INTERVALS
        parts = intervals.split(",") if isinstance(intervals, str) else intervals
        try:
            values = tuple(duration(p) for p in parts if str(p).strip())
            max_age = duration(settings.get("RECHECK_MAX_AGE") or DEFAULT_MAX_AGE)
        except ValueError as exc:
            raise ValueError(f"RECHECK_INTERVALS / RECHECK_MAX_AGE: {exc}") from None
        if not values or any(v <= 0 for v in values):
            raise ValueError(f"RECHECK_INTERVALS must list positive durations, not {intervals!r}")
        return cls(values, max_age)

    def next_check(self, page: PageState, at: float) -> float | None:
        """When an article stored (or rechecked) at ``at`` is due again; None once it is too old."""
        born = next((t for t in (page.published, page.changed_at) if t is not None), at)
        if at - born >= self.max_age:
            return None
        return at + self.intervals[min(page.checks, len(self.intervals) - 1)]


def parse_listed_date(value: str | None, tz: tzinfo | None = None) -> float | None:
    """A sitemap ``lastmod`` (W3C datetime) or a feed date (RFC 822 or ISO 8601) as epoch seconds.

    A date printed without an offset is in ``tz`` (the site's zone), else UTC.
    """
    parsed = parse_datetime(value, tz or timezone.utc)
    return parsed.timestamp() if parsed else None


class IncrementalMiddleware:
    def __init__(self, crawler: Crawler, state: CrawlState, policy: RecheckPolicy, recrawl: bool) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.policy = policy
        self.recrawl = recrawl
        # Lists (sitemaps, feeds, listing pages) fetched in full by this crawl, committed when it finishes:
        # a 304 must mean "nothing new since a crawl that followed all it named", not since one that was killed.
        self._lists: dict[str, PageState] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("INCREMENTAL_ENABLED", True):
            raise NotConfigured
        middleware = cls(crawler, crawl_state(crawler), RecheckPolicy.from_settings(settings), settings.getbool("RECRAWL"))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        self.stats.set_value("incremental/enabled", 1)
        if self.recrawl:
            logger.info("RECRAWL: every page is fetched in full, whatever the crawl state")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """A list's validators are kept only once a crawl has followed everything it named."""
        if reason == "finished":
            for page in self._lists.values():
                self.state.put(page)
        self._lists.clear()

    # -- requests ------------------------------------------------------------------------------

    def process_request(self, request: Request) -> None:
        # A redirect copies the request, our headers included: they belong to the URL they were made for.
        if request.meta.get(CONDITIONAL_FOR) not in (None, url_key(request.url)):
            for name in (b"If-None-Match", b"If-Modified-Since"):
                request.headers.pop(name, None)
            request.meta.pop(NOT_MODIFIED_ORIGINAL, None)
            request.meta.pop(CONDITIONAL_FOR, None)
        if request.method != "GET" or _is_robots(request.url):
            return
        key = url_key(request.url)
        page = self.state.get(key)
        kind = request.meta.get(KIND, "url")
        if page is None or page.kind == PENDING:
            if kind in ("listed", "seed") and page is None:
                self.stats.inc_value("incremental/listed_new")  # a new article: see crawler.outcome
            return
        if self.recrawl:
            return
        if page.kind in (ARTICLE, OTHER) and kind not in ALWAYS_FETCHED + EXPLICIT and not self._due(page, request):
            self.stats.inc_value("incremental/skipped_by_policy")
            raise IgnoreRequest(f"Not due for a recheck until {_iso(page.next_check)}: {request.url}")
        # Conditionally only what was fully processed: a stored article, a list a finished crawl followed.
        if page.kind in (ARTICLE, *ALWAYS_FETCHED) and page.warc_record_id and (page.etag or page.last_modified):
            if page.etag:
                request.headers[b"If-None-Match"] = page.etag
            if page.last_modified:
                request.headers[b"If-Modified-Since"] = page.last_modified
            request.meta[NOT_MODIFIED_ORIGINAL] = {"uri": page.warc_uri or page.url, "date": page.warc_date,
                                                   "record_id": page.warc_record_id, "digest": page.payload_digest}
            request.meta[CONDITIONAL_FOR] = key
            self.stats.inc_value("incremental/conditional_requests")

    def _due(self, page: PageState, request: Request) -> bool:
        listed = request.meta.get(LISTED_AT)
        if listed is not None and page.fetched_at is not None and listed > page.fetched_at:
            self.stats.inc_value("incremental/due_by_lastmod")
            return True
        return page.next_check is not None and page.next_check <= now()

    # -- responses -----------------------------------------------------------------------------

    def process_response(self, request: Request, response: Response) -> Response:
        if request.method != "GET" or _is_robots(request.url):
            return response
        key = url_key(response.url)
        page = self.state.get(key) or PageState(key=key, kind=PENDING)
        at = now()
        page.url, page.fetched_at, page.status = response.url, at, response.status
        kind = request.meta.get(KIND, "url")
        if kind in ALWAYS_FETCHED:
            page.kind = kind
        else:
            self._remember_redirect(request, key, at)
        if response.status == 304:
            self.stats.inc_value("incremental/not_modified")
            if page.kind == ARTICLE:
                page.checks += 1
                page.next_check = self.policy.next_check(page, at)
            self.state.put(page)
            return response
        if response.status == 200:
            page.etag = _header(response, b"ETag")
            page.last_modified = _header(response, b"Last-Modified")
            if capture := request.meta.get(PAYLOAD_CAPTURE):
                page.warc_uri, page.warc_date, page.warc_record_id = capture["uri"], capture["date"], capture["record_id"]
                page.payload_digest = capture.get("digest")
            if kind in ALWAYS_FETCHED:
                self._lists[key] = page
                return response
            # Pending until the text store (or the spider, for pages that are not articles) has
            # processed it: a crawl killed before then leaves a page fetched in full next time.
            page.kind = PENDING
            page.next_check = at + self.policy.intervals[0]
        elif kind not in ALWAYS_FETCHED:
            if 400 <= response.status < 500:
                page.kind, page.next_check = OTHER, None  # gone: asked again only if a listed date moves
            else:
                page.kind, page.next_check = PENDING, at + self.policy.intervals[0]  # 5xx: retried later
        self.state.put(page)
        return response

    def _remember_redirect(self, request: Request, key: str, at: float) -> None:
        """A listed URL that redirects: known from now on, so it is neither new nor fetched every run."""
        for original in request.meta.get("redirect_urls", [])[:1]:
            original_key = url_key(original)
            if original_key != key and self.state.get(original_key) is None:
                self.state.put(PageState(key=original_key, url=original, kind=OTHER, fetched_at=at))

    def process_exception(self, request: Request, exception: Exception) -> None:
        """A listed article that could not be downloaded stays due: the next crawl asks for it."""
        if request.meta.get(KIND) in ("listed", "seed", "related", "cited") and request.method == "GET":
            key = url_key(request.url)
            if self.state.get(key) is None:
                self.state.put(PageState(key=key, url=request.url, kind=PENDING, next_check=now()))



def settle(state: CrawlState, url: str) -> None:
    """A fetched page that is no article: no longer pending, and asked again only when a sitemap
    or feed date says it changed (or under RECRAWL)."""
    page = state.get(url_key(url))
    if page is not None and page.kind == PENDING:
        page.kind, page.next_check = OTHER, None
        state.put(page)


def _is_robots(url: str) -> bool:
    """robots.txt is always fetched whole: its parser, and the sitemaps it names, need the body."""
    return urlsplit(url).path == "/robots.txt"


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _iso(epoch: float | None) -> str:
    return "never (older than RECHECK_MAX_AGE)" if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")
