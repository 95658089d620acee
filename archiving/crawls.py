"""The archive as a crawl sees it: one storage per crawl, its items feed, and what a write failure does.

- ``crawl_storage(crawler)``: built once per crawl from ``ARCHIVE_STORAGES`` by the scheme of
  ``ARCHIVE_URI``, checked writable (``ArchiveUnavailable`` stops the crawl before its first
  request), and recovered from earlier crashes (``archiving.recovery``); every component shares it.
- ``ArchiveFeedStorage``: Scrapy feed storage for ``archive:<path>`` URIs, so the items feed is
  written through the same storage whatever the backend.
- ``write_failed(crawler, error)``: one log line, the ``archive/write_failed`` stat, and the
  spider closes with reason ``archive_write_failed``; ``scrapy crawl`` then exits with status 3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, BinaryIO
from weakref import WeakKeyDictionary

from archiving.layout import PARTIAL_SUFFIX
from archiving.recovery import recover
from archiving.storage import ArchiveError, ArchiveStorage, ArchiveWriteError, reason, storage_class

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

WRITE_FAILED_REASON = "archive_write_failed"
FEED_SCHEME = "archive"

_STORAGES: WeakKeyDictionary[Any, ArchiveStorage] = WeakKeyDictionary()


def crawl_storage(crawler: Crawler) -> ArchiveStorage:
    """The one storage of a crawl: built, checked writable and recovered on first use."""
    from scrapy.utils.misc import build_from_crawler

    storage = _STORAGES.get(crawler)
    if storage is None:
        uri = str(crawler.settings.get("ARCHIVE_URI") or "archive")
        storage = build_from_crawler(storage_class(crawler.settings, uri), crawler, uri)
        storage.check_writable()
        for name, value in recover(storage).stats().items():
            crawler.stats.inc_value(name, value)
        _STORAGES[crawler] = storage
    return storage


def write_failed(crawler: Crawler, error: ArchiveError) -> None:
    """A write to the archive failed: say so once, count it, and close the crawl."""
    crawler.stats.inc_value("archive/write_failed")
    if crawler.stats.get_value("archive/error") is not None:
        logger.debug("Archive write failed: %s", error)
        return
    crawler.stats.set_value("archive/error", str(error))
    logger.error("Archive write failed, closing the crawl: %s", error)
    engine = getattr(crawler, "_engine", None)
    if engine is not None and engine.running and engine.spider is not None:
        from scrapy.utils.defer import deferred_from_coro

        # A spider already closing keeps its reason; the exit status comes from the stat.
        deferred_from_coro(engine.close_spider_async(reason=WRITE_FAILED_REASON)).addErrback(lambda _: None)


class ArchiveFeedStorage:
    """Feed storage for ``archive:items/<spider>/<crawl-id>.jsonl``: a partial file of the archive, completed at the end."""

    def __init__(self, uri: str, crawler: Crawler, feed_options: dict[str, Any] | None = None) -> None:
        self.crawler = crawler
        self.storage = crawl_storage(crawler)
        self.path = uri.split(":", 1)[1].lstrip("/")

    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str, *, feed_options: dict[str, Any] | None = None) -> Self:
        return cls(uri, crawler, feed_options)

    def open(self, spider: Spider) -> FeedFile:
        def failed(exc: OSError) -> None:
            where = self.storage.describe(self.path + PARTIAL_SUFFIX)
            write_failed(self.crawler, ArchiveWriteError(f"cannot write {where}: {reason(exc)}"))

        return FeedFile(self.storage.open_partial(self.path), failed)

    def store(self, file: FeedFile) -> None:
        try:
            self.storage.complete(self.path, file.file)
        except ArchiveError as exc:
            # The feed stays partial (local) or pending (remote): the next start completes it.
            write_failed(self.crawler, exc)


class FeedFile:
    """The items feed as the exporter writes it: whole lines or nothing, a failure reported once.

    The exporter writes one line per call. A write that fails (disk full) is cut back to the
    last whole line, reported, and every later line is dropped: the feed stays valid JSONL.
    """

    def __init__(self, file: BinaryIO, failed: Callable[[OSError], None]) -> None:
        self.file = file
        self.failure: OSError | None = None
        self._failed = failed
        self._whole = 0  # where the last whole line ends

    def write(self, data: bytes) -> int:
        if self.failure is None:
            try:
                view, written = memoryview(data), 0
                while written < len(view):  # an unbuffered file may take part of a write
                    written += self.file.write(view[written:])
            except OSError as exc:
                self.failure = exc
                with suppress(OSError):
                    self.file.truncate(self._whole)
                    self.file.seek(self._whole)
                self._failed(exc)
            else:
                if data.endswith(b"\n"):
                    self._whole = self.file.tell()
        return len(data)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()
