"""Article records in the archive: ``text/<site>/<id>.txt`` and ``.json``, written atomically.

A record whose clean text differs from the stored one becomes the next version
(``version`` + 1, ``previous_digest``); the same text again leaves the files as they are.
A record is stored only when its capture is in a WARC: a page whose capture could not be
written (the crawl is closing after a failed write) gets no article record.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem
from scrapy.utils.asyncio import run_in_thread

from archiving.crawls import crawl_storage, write_failed
from archiving.layout import article_json, article_text, text_base
from archiving.storage import ArchiveStorage, ArchiveWriteError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class TextStorePipeline:
    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.storage = storage
        self.captures_required = crawler.settings.getbool("WARC_ENABLED", True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawl_storage(crawler))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, dict) or "content_digest" not in item:
            return item
        if self.captures_required and not item.get("warc_record_id"):
            self.stats.inc_value("textstore/no_capture")
            # The crawl is closing after a failed write, which was logged once: count, don't repeat.
            raise DropItem(f"Not stored: the capture of {item['url']} is not in a WARC", log_level="DEBUG")
        try:
            await run_in_thread(self.store, item)
        except ArchiveWriteError as exc:
            write_failed(self.crawler, exc)
            raise DropItem(f"Not stored: {exc}", log_level="DEBUG") from None
        return item

    def store(self, record: dict[str, Any]) -> None:
        base = text_base(record["site"], record["canonical_url"])
        stored = self.storage.read(base + ".json")
        if stored is not None:
            previous = json.loads(stored)
            if previous.get("content_digest") == record["content_digest"]:
                record["version"] = previous.get("version", 1)
                record["previous_digest"] = previous.get("previous_digest")
                self.stats.inc_value("textstore/unchanged")
                return
            record["version"] = previous.get("version", 1) + 1
            record["previous_digest"] = previous.get("content_digest")
            self.stats.inc_value("textstore/new_version")
        # The text first, the record last: a record on disk always has its text beside it.
        self.storage.write_atomic(base + ".txt", article_text(record))
        self.storage.write_atomic(base + ".json", article_json(record))
        self.stats.inc_value("textstore/written")
