"""Article records in the archive: ``text/<site>/<id>.txt`` and ``.json``, written atomically.

A record whose clean text differs from the stored one becomes the next version
(``version`` + 1, ``previous_digest``); the same text again leaves the files as they are and,
in an incremental crawl, gives no line in the crawl's items feed. The crawl state learns the
article's text digest, version and next recheck (crawler.incremental).
A record is stored only when its capture is in a WARC: a page whose capture could not be
written (the crawl is closing after a failed write) gets no article record.
In a job resumed after a crash (``JOBDIR``, crawler.jobdir), a page fetched again whose
unchanged record an earlier run of the job listed in its feed is not listed again.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem
from scrapy.utils.asyncio import run_in_thread

from archiving.crawls import crawl_storage, write_failed
from archiving.layout import article_json, article_text, text_base
from archiving.storage import ArchiveError, ArchiveStorage
from crawler.incremental import ARTICLE, RecheckPolicy, parse_listed_date
from crawler.jobdir import emitted_earlier
from crawler.state import PageState, crawl_state
from crawler.urls import url_key
from pipelines.record import ArticleRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"


class TextStorePipeline:
    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.storage = storage
        self.captures_required = crawler.settings.getbool("WARC_ENABLED", True)
        incremental = crawler.settings.getbool("INCREMENTAL_ENABLED", True)
        self.state = crawl_state(crawler) if incremental else None
        self.policy = RecheckPolicy.from_settings(crawler.settings) if incremental else None
        self.listed_earlier: set[str] = set()  # canonical URL keys in the feeds of this job's earlier runs

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawl_storage(crawler))

    def open_spider(self) -> None:
        self.listed_earlier = emitted_earlier(self.crawler, self.crawler.spider)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        if self.captures_required and not item.warc_record_id:
            self.stats.inc_value("textstore/no_capture")
            # The crawl is closing after a failed write, which was logged once: count, don't repeat.
            raise DropItem(f"Not stored: the capture of {item.url} is not in a WARC", log_level="DEBUG")
        try:
            outcome = await run_in_thread(self.store, item)
        except ArchiveError as exc:  # a write, or the read of the stored version
            write_failed(self.crawler, exc)
            raise DropItem(f"Not stored: {exc}", log_level="DEBUG") from None
        if self.state is not None:
            self._remember(item, outcome)
            if outcome == UNCHANGED:  # an incremental crawl's feed lists what is new or changed
                raise DropItem(f"Unchanged since version {item.version}: {item.url}", log_level="DEBUG")
        if outcome == UNCHANGED and url_key(item.canonical_url) in self.listed_earlier:
            # A job resumed after a crash fetched again a page an earlier run had stored and listed.
            self.stats.inc_value("textstore/listed_by_earlier_run")
            raise DropItem(f"Listed by an earlier run of this job: {item.url}", log_level="DEBUG")
        return item

    def _remember(self, record: ArticleRecord, outcome: str) -> None:
        key = url_key(record.url)
        page = self.state.get(key) or PageState(key=key, url=record.url)
        at = time.time()
        page.kind = ARTICLE
        page.text_digest, page.version = record.content_digest, record.version
        page.published = parse_listed_date(record.published)
        if outcome == UNCHANGED:
            page.checks += 1
        else:
            page.changed_at, page.checks = at, 0
        page.next_check = self.policy.next_check(page, at)
        self.state.put(page)

    def store(self, record: ArticleRecord) -> str:
        """Write the record's files unless its text is the stored one: NEW, CHANGED or UNCHANGED."""
        base = text_base(record.site, record.canonical_url)
        stored = self.storage.read(base + ".json")
        if stored is not None:
            previous = json.loads(stored)
            if previous.get("content_digest") == record.content_digest:
                record.version = previous.get("version", 1)
                record.previous_digest = previous.get("previous_digest")
                self.stats.inc_value("textstore/unchanged")
                return UNCHANGED
            record.version = previous.get("version", 1) + 1
            record.previous_digest = previous.get("content_digest")
            self.stats.inc_value("textstore/new_version")
        # The text first, the record last: a record on disk always has its text beside it.
        fields = record.as_dict()
        self.storage.write_atomic(base + ".txt", article_text(fields))
        self.storage.write_atomic(base + ".json", article_json(fields))
        self.stats.inc_value("textstore/written")
        return NEW if stored is None else CHANGED
