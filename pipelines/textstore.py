"""Article records on disk: ``text/<site>/<id>.txt`` and ``.json``, written atomically.

A record whose clean text differs from the stored one becomes the next version
(``version`` + 1, ``previous_digest``); the same text again leaves the files as they are.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy.utils.asyncio import run_in_thread

from pipelines.extraction import article_id
from pipelines.storage import ArchiveStorage, storage_from_uri

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


def text_file(record: dict[str, Any]) -> bytes:
    """The title, a blank line, then the text."""
    return f"{record['title'] or ''}\n\n{record['text']}\n".encode("utf-8")


class TextStorePipeline:
    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.stats = crawler.stats
        self.storage = storage

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, storage_from_uri(crawler.settings.get("ARCHIVE_URI")))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, dict) or "content_digest" not in item:
            return item
        await run_in_thread(self.store, item)
        return item

    def store(self, record: dict[str, Any]) -> None:
        base = f"text/{record['site']}/{article_id(record['canonical_url'])}"
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
        # Each file is replaced whole: a crash leaves the old file or the new, never a part.
        self.storage.write_atomic(base + ".txt", text_file(record))
        self.storage.write_atomic(base + ".json", json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
        self.stats.inc_value("textstore/written")
