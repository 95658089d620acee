"""``scrapy crawl``, holding the archive for its spider and exiting with the product's statuses.

Scrapy's own command exits 0 whatever happened to the archive. This one takes the crawl lock
first (status 4 when another crawl of the spider holds the archive), reports an archive that
cannot be written before the first request in one line (status 3), and otherwise exits with
the status of the run summary (crawler.outcome; README, "Exit status").
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.defer import Deferred

from archiving.lock import ArchiveLocked
from archiving.storage import ArchiveError, open_archive
from crawler.netcheck import network_problem
from crawler.outcome import EXIT_ARCHIVE, EXIT_LOCKED, EXIT_NO_NETWORK, EXIT_REDIS, EXIT_SCRAPY, EXIT_USAGE, exit_status
from crawler.usage import UsageMistake, check_arguments, check_settings, check_spider

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name" if args else "")
        assert self.crawler_process and self.settings is not None
        try:
            check_spider(self.crawler_process.spider_loader, args[0])
            crawler = self._create_crawler(args[0])
            check_arguments(crawler.spidercls, opts.spargs)
            check_settings(crawler.settings)
            crawl = _distributed_crawl(crawler)
        except UsageMistake as exc:
            logger.error("%s", exc)
            self.exitcode = EXIT_USAGE
            return
        except RedisUnavailable as exc:
            logger.error("%s", exc)
            self.exitcode = EXIT_REDIS
            return
        try:
            archive = open_archive(crawler.settings)
            archive.check_writable()  # before the lock: say "not writable", not "cannot lock"
            lock = archive.crawl_lock(crawler.spidercls.name, on_lost=lambda message: _lock_lost(crawler, message),
                                      crawl=crawl)
        except ArchiveLocked as exc:
            logger.error("%s: not crawling", exc)
            self.exitcode = EXIT_LOCKED
            return
        except ArchiveError as exc:
            logger.error("%s", exc)
            self.exitcode = EXIT_ARCHIVE
            return
        with lock:
            if problem := no_network(crawler, opts.spargs):
                logger.error("No network? %s: not crawling (make demo, or -s REPLAY=..., crawls recorded pages)", problem)
                self.exitcode = EXIT_NO_NETWORK
                return
            self.exitcode = self._crawl(crawler, opts.spargs)
            if crawl is not None:  # a worker that leaves others running leaves them the lease (archiving.lock)
                lock.final = bool(crawler.stats.get_value("distributed/ended_run"))

    def _crawl(self, crawler: Crawler, arguments: dict[str, Any]) -> int:
        refused: list[BaseException] = []
        running = self.crawler_process.crawl(crawler, **arguments)
        if isinstance(running, Deferred):
            running.addErrback(_consume(ArchiveError, refused))
        else:
            running.add_done_callback(_retrieve(ArchiveError, refused))
        if not refused:
            self.crawler_process.start()
        if refused:
            logger.error("%s", refused[0])
            return EXIT_ARCHIVE
        if crawler.spider is None or self.crawler_process.bootstrap_failed:
            return EXIT_SCRAPY
        stats = crawler.stats.get_stats()
        if "run/exit_status" in stats:
            return stats["run/exit_status"]
        settings = crawler.settings
        return exit_status(stats, settings.getfloat("MAX_ERROR_RATE", 0.5), settings.getbool("EXTRACTION_ENABLED", True))[0]


LOCK_LOST_REASON = "archive_lock_lost"


def no_network(crawler: Crawler, arguments: dict[str, Any]) -> str | None:
    """Why the crawl's first URL is out of the network's reach (crawler.netcheck), or None.

    Not checked under ``REPLAY``, with ``NETWORK_CHECK`` off, or behind a proxy from the environment
    (the proxy resolves the names, this machine may not).
    """
    settings = crawler.settings
    if settings.get("REPLAY") or not settings.getbool("NETWORK_CHECK", True):
        return None
    first = getattr(crawler.spidercls, "first_url", None)
    url = first(arguments) if first is not None else None
    if not url or urllib.request.getproxies().get(urlsplit(url).scheme):
        return None
    return network_problem(url)


def _distributed_crawl(crawler: Crawler) -> str | None:
    """The distributed crawl this worker joins (its workers share the archive's lock), or None."""
    from crawler import distributed

    if not distributed.enabled(crawler.settings):
        return None
    try:
        server = distributed.redis_server(crawler.settings)
    except ValueError as exc:
        raise UsageMistake(f"-s REDIS_URL: {exc}") from exc
    try:
        server.ping()
    except Exception as exc:  # noqa: BLE001 - redis-py's errors: one line, not a traceback
        raise RedisUnavailable(f"cannot reach Redis at {distributed.redacted_url(crawler.settings)}: {exc}: "
                               "not crawling") from exc
    return distributed.crawl_identity(crawler.settings, crawler.spidercls.name)


class RedisUnavailable(Exception):
    pass


def _lock_lost(crawler: Crawler, message: str) -> None:
    """From the lease's thread: another crawl may now write this archive, so this one stops."""
    from twisted.internet import reactor

    def stop() -> None:
        logger.error("%s: closing the crawl", message)
        crawler.stats.set_value("archive/lock_lost", 1)
        engine = crawler.engine
        if engine.running and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=LOCK_LOST_REASON)).addErrback(lambda _: None)

    reactor.callFromThread(stop)


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
