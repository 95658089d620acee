"""What a crawl keeps of the articles it extracted: its ``since`` and one record per article.

Crawl policy, not extraction: the same page extracts the same way whatever the crawl asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured

from crawler.dates import parse_day
from crawler.urls import url_key
from pipelines.record import ArticleRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self


class CrawlPolicyPipeline:
    """Drops articles published before ``-a since`` (those discovery found: explicit asks and the sources
    they cite stay) and any page whose canonical URL names an article this crawl already emitted.

    Its stats keep the names they had when extraction counted them: ``extraction/before_since``,
    ``extraction/duplicates``, and ``extraction/articles`` for the records it lets through.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self._emitted: dict[str, str] = {}  # url_key of canonical URLs emitted -> the URL emitted

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("EXTRACTION_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        params = getattr(self.crawler.spider, "params", None)
        since = params.since if params is not None else None
        published = parse_day(item.published)
        if item.since_applies and since and published and published < since:
            self.stats.inc_value("extraction/before_since")
            raise DropItem(f"Published {item.published}, before since={since}: {item.url}")
        key = url_key(item.canonical_url)
        if key in self._emitted:
            self.stats.inc_value("extraction/duplicates")
            raise DropItem(f"Same article as {self._emitted[key]} (canonical {item.canonical_url}): {item.url}")
        self._emitted[key] = item.url
        self.stats.inc_value("extraction/articles")
        return item
