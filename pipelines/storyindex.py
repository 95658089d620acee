"""The story index of an archive, brought up to date when a crawl ends.

Every crawl that writes to the same ARCHIVE_URI updates one index: ``stories/index.jsonl``
(every story with its articles and their roles), the crawl's own
``items/<spider>/<crawl-id>.stories.jsonl`` (the stories its articles belong to), and the
``story_id`` of every article record whose story changed (text JSON and the crawl's items).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archiving.crawls import crawl_storage, write_failed
from archiving.layout import (
    STORY_INDEX,
    TEXT_DIR,
    article_json,
    crawl_stories_path,
    is_article_json,
    items_path,
    jsonl,
    read_jsonl,
)
from archiving.storage import ArchiveError, ArchiveStorage
from crawler.urls import url_key
from pipelines.stories import Stories

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class StoryIndex:
    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.crawler = crawler
        self.storage = storage
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("EXTRACTION_ENABLED", True) or not crawler.settings.getbool("STORIES_ENABLED", True):
            raise NotConfigured
        extension = cls(crawler, crawl_storage(crawler))
        # engine_stopped: after the feed export has closed this crawl's items file.
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        try:
            self.update()
        except ArchiveError as exc:
            write_failed(self.crawler, exc)

    def update(self) -> None:
        spider = self.crawler.spider
        records = self._archive_records()
        if not records:
            return
        stories = Stories(list(records.values()))
        story_of = stories.story_of()
        described = stories.describe()
        self.storage.write_atomic(STORY_INDEX, jsonl(described))
        updated = 0
        for path, record in records.items():
            story = story_of.get(url_key(record["canonical_url"]))
            if record.get("story_id") != story:
                record["story_id"] = story
                self.storage.write_atomic(path, article_json(record))
                updated += 1
        crawl_stories = self._update_crawl_items(spider.name, spider.crawl_id, story_of)
        own = [s for s in described if s["story_id"] in crawl_stories]
        self.storage.write_atomic(crawl_stories_path(spider.name, spider.crawl_id), jsonl(own))
        self.stats.set_value("stories/archive_stories", len(described))
        self.stats.set_value("stories/crawl_stories", len(own))
        self.stats.set_value("stories/records_updated", updated)
        logger.info("Story index: %d stories in the archive, %d in this crawl, %d records updated", len(described), len(own), updated)

    def _archive_records(self) -> dict[str, dict[str, Any]]:
        records = {}
        for entry in self.storage.list(TEXT_DIR + "/"):
            data = self.storage.read(entry.path) if is_article_json(entry.path) else None
            if data is not None:
                records[entry.path] = json.loads(data)
        return records

    def _update_crawl_items(self, spider: str, crawl_id: str, story_of: dict[str, str]) -> set[str]:
        relpath = items_path(spider, crawl_id)
        data = self.storage.read(relpath)
        if data is None:
            return set()
        rows = read_jsonl(data)
        for row in rows:
            row["story_id"] = story_of.get(url_key(row["canonical_url"]))
        self.storage.write_atomic(relpath, jsonl(rows))
        return {row["story_id"] for row in rows if row["story_id"]}


