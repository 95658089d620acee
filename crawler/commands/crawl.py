"""``scrapy crawl``, with the product's exit statuses (README, "Exit status").

Scrapy's own command exits 0 whatever happened to the archive. This one exits 3 when the
archive could not be opened for writing (one line, before the first request) or when a
write failed during the crawl (the spider closed with reason ``archive_write_failed``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from twisted.internet.defer import Deferred

from archiving.storage import ArchiveError

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

EXIT_ARCHIVE = 3
ARCHIVE_FAILURES = ("archive/write_failed", "archive/sync_failed", "archive/recovery_failures")


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name" if args else "")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        refused: list[BaseException] = []
        running = self.crawler_process.crawl(crawler, **opts.spargs)
        if isinstance(running, Deferred):
            running.addErrback(_consume(ArchiveError, refused))
        else:
            running.add_done_callback(_retrieve(ArchiveError, refused))
        if not refused:
            self.crawler_process.start()
        self.exitcode = exit_status(crawler, refused, self.crawler_process.bootstrap_failed)
        if refused:
            logger.error("%s", refused[0])


def _consume(kind: type[BaseException], into: list[BaseException]) -> Any:
    """Errback: an error of ``kind`` is kept for a one-line report instead of a logged traceback."""

    def errback(failure: Failure) -> Failure | None:
        if failure.check(kind):
            into.append(failure.value)
            return None
        return failure

    return errback


def _retrieve(kind: type[BaseException], into: list[BaseException]) -> Any:
    """Done callback of a crawl task: the same for AsyncCrawlerProcess."""

    def done(task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if isinstance(exc, kind):
            into.append(exc)
        else:
            logger.error("Crawl failed", exc_info=exc)

    return done


def exit_status(crawler: Crawler, refused: list[BaseException], bootstrap_failed: bool) -> int:
    if refused:
        return EXIT_ARCHIVE
    stats = crawler.stats.get_stats() if crawler.spider is not None else {}
    # A failed write, or leftovers of earlier crawls that still could not be put right.
    if any(stats.get(name) for name in ARCHIVE_FAILURES):
        return EXIT_ARCHIVE
    return 1 if bootstrap_failed else 0
