"""Per-site crawl stats: what the end-of-crawl table and the run summary show for each site.

``SiteStats`` counts, under ``site/<host>/``: ``pages`` (responses), ``bytes`` (response bodies as
received), ``articles_new`` and ``articles_changed`` (records the text store wrote), ``revisits``
(captures written as revisit records), ``errors`` (failed downloads and 5xx answers; the download
failures are counted by crawler.failures), and ``first_seen`` / ``last_seen`` (epoch seconds of
the first and last response). Sites are hosts (``crawler.sites.host_of``), as in ``text/<site>/``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.sites import host_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector
    from typing_extensions import Self

PREFIX = "site/"
REVISIT = "news_warc_revisit"  # request.meta: the capture was written as a revisit (pipelines.warc)


def count_error(stats: StatsCollector, url: str) -> None:
    stats.inc_value(f"{PREFIX}{host_of(url)}/errors")


class SiteStats:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        return extension

    def response_received(self, response: Response, request: Request) -> None:
        site = f"{PREFIX}{host_of(response.url)}/"
        now = time.time()
        self.stats.inc_value(site + "pages")
        self.stats.inc_value(site + "bytes", len(response.body))
        self.stats.min_value(site + "first_seen", now)
        self.stats.max_value(site + "last_seen", now)
        if response.status >= 500:
            self.stats.inc_value(site + "errors")
        if request.meta.get(REVISIT):
            self.stats.inc_value(site + "revisits")

    def item_scraped(self, item: Any) -> None:
        site, version = getattr(item, "site", None), getattr(item, "version", None)
        if site and version:
            self.stats.inc_value(f"{PREFIX}{site}/articles_{'new' if version == 1 else 'changed'}")


def by_site(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``site/<host>/<figure>`` stats as {host: {figure: value}}, with each site's seconds."""
    sites: dict[str, dict[str, Any]] = {}
    for name, value in stats.items():
        if name.startswith(PREFIX):
            site, _, figure = name[len(PREFIX):].rpartition("/")
            sites.setdefault(site, {})[figure] = value
    table = {}
    for site, figures in sorted(sites.items()):
        first, last = figures.pop("first_seen", None), figures.pop("last_seen", None)
        table[site] = {
            "pages": figures.get("pages", 0),
            "articles_new": figures.get("articles_new", 0),
            "articles_changed": figures.get("articles_changed", 0),
            "revisits": figures.get("revisits", 0),
            "errors": figures.get("errors", 0),
            "bytes": figures.get("bytes", 0),
            "seconds": round(last - first, 1) if first is not None and last is not None else 0.0,
        }
    return table
