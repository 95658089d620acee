"""The story index of an archive, brought up to date when a crawl ends.

Every crawl that writes to the same ARCHIVE_URI updates one index: ``stories/index.jsonl``
(every story with its articles and their roles), the crawl's own
``items/<spider>/<crawl-id>.stories.jsonl`` (the stories its articles belong to), and the
``story_id`` of every article record whose story changed (text JSON and the crawl's items).

Stories are linked from each article's features (``pipelines.stories``: evidence tokens, Simhash,
the pages it refers to), kept in ``stories/features.jsonl`` with the size and story of the record
they describe: a crawl computes the features of the records it writes as it writes them, and at
its end reads no record but those whose story changed, or which no line describes as they are
(written by a crawl with stories off, or by a version before the features file): the end of a
crawl costs a line per article of the archive, not a read and a tokenization of every text.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archiving.crawls import crawl_storage, write_failed
from archiving.layout import (
    STORY_FEATURES,
    STORY_INDEX,
    TEXT_DIR,
    article_json,
    crawl_stories_path,
    is_article_json,
    items_path,
    jsonl,
    jsonl_line,
    read_jsonl,
    text_base,
)
from archiving.storage import ArchiveError, ArchiveStorage
from crawler.distributed import archive_writer
from crawler.urls import url_key
from pipelines.record import ArticleRecord
from pipelines.stories import Stories, TextFeatures, article, features, from_features

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class StoryIndex:
    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.crawler = crawler
        self.storage = storage
        self.stats = crawler.stats
        self.written: dict[str, dict[str, Any]] = {}  # record path -> features of the record this crawl wrote

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("EXTRACTION_ENABLED", True) or not crawler.settings.getbool("STORIES_ENABLED", True):
            raise NotConfigured
        extension = cls(crawler, crawl_storage(crawler))
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        # engine_stopped: after the feed export has closed this crawl's items file.
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def item_scraped(self, item: Any) -> None:
        """A record the text store wrote (new or changed): its features, while it is at hand."""
        if isinstance(item, ArticleRecord):
            record = item.as_dict()
            path = text_base(item.site, item.canonical_url) + ".json"
            # The extraction worker computed the costly part (ArticleRecord.text_features).
            self.written[path] = _entry(record, len(article_json(record)), item.text_features)

    def engine_stopped(self) -> None:
        try:
            # The workers of a distributed crawl end at different times: one updates the index at a time.
            with archive_writer(self.crawler, "story index"):
                self.update()
        except ArchiveError as exc:
            write_failed(self.crawler, exc)

    def update(self) -> None:
        spider = self.crawler.spider
        entries = self._features()
        if not entries:
            return
        stories = Stories(from_features(entry) for entry in entries.values())
        story_of = stories.story_of()
        described = stories.describe()
        updated = 0
        for path, entry in entries.items():
            story = story_of.get(entry["key"])
            if entry["story_id"] != story and (data := self.storage.read(path)) is not None:
                record = json.loads(data)
                record["story_id"] = story
                body = article_json(record)
                self.storage.write_atomic(path, body)
                entry["story_id"], entry["size"] = story, len(body)
                updated += 1
        # After the records: features that lag behind a record are read again next time (their size differs).
        self.storage.write_atomic(STORY_FEATURES, jsonl(entries.values()))
        self.storage.write_atomic(STORY_INDEX, jsonl(described))
        crawl_stories = self._update_crawl_items(spider.name, spider.crawl_id, story_of)
        own = [s for s in described if s["story_id"] in crawl_stories]
        self.storage.write_atomic(crawl_stories_path(spider.name, spider.crawl_id), jsonl(own))
        self.stats.set_value("stories/archive_stories", len(described))
        self.stats.set_value("stories/crawl_stories", len(own))
        self.stats.set_value("stories/records_updated", updated)
        logger.info("Story index: %d stories in the archive, %d in this crawl, %d records updated", len(described), len(own), updated)

    def _features(self) -> dict[str, dict[str, Any]]:
        """Record path -> features, for every article record of the archive, in path order."""
        known = {}
        if (data := self.storage.read(STORY_FEATURES)) is not None:
            known = {entry["path"]: entry for entry in read_jsonl(data)}
        entries = {}
        for listed in sorted(self.storage.list(TEXT_DIR + "/"), key=lambda e: e.path):
            if not is_article_json(listed.path):
                continue
            entry = self.written.get(listed.path) or known.get(listed.path)
            if entry is None or entry["size"] != listed.size:  # not described as it is: read it
                if (data := self.storage.read(listed.path)) is None:
                    continue
                entry = _entry(json.loads(data), len(data))
                self.stats.inc_value("stories/features_read")
            entries[listed.path] = {**entry, "path": listed.path}
        return entries

    def _update_crawl_items(self, spider: str, crawl_id: str, story_of: dict[str, str]) -> set[str]:
        """The story of each record in the crawl's items feed; the stories it has.

        Line by line, through a local file: a feed holds every text of the crawl (100 MB for
        10,000 articles), several times that once parsed."""
        relpath = items_path(spider, crawl_id)
        if not self.storage.exists(relpath):
            return set()
        stories = set()
        with tempfile.TemporaryDirectory(prefix="news-archiver-") as folder:
            updated = Path(folder) / "items.jsonl"
            with self.storage.open_read(relpath) as feed, updated.open("wb") as out:
                for line in feed:
                    if not line.strip():
                        continue
                    row = json.loads(line)
                    row["story_id"] = story_of.get(url_key(row["canonical_url"]))
                    stories.add(row["story_id"])
                    out.write(jsonl_line(row).encode("utf-8"))
            self.storage.write_atomic(relpath, updated)
        stories.discard(None)
        return stories


def _entry(record: dict[str, Any], size: int, text_features: TextFeatures | None = None) -> dict[str, Any]:
    """A features line: the record's features, its story as stored and its size (how a stale line shows)."""
    return {**features(article(record, text_features)), "story_id": record.get("story_id"), "size": size}
