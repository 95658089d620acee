"""How a crawl ended: its exit status (README, "Exit status") and its run summary.

``RunSummary`` writes ``items/<spider>/<crawl-id>.summary.json`` when the crawl ends, and the
same figures as a short table at the end of the log. ``scrapy crawl`` exits with the status
the summary records.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archiving.crawls import crawl_storage, write_failed
from archiving.layout import summary_path
from archiving.storage import ArchiveError
from crawler.sitestats import by_site

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SCRAPY = 1  # Scrapy could not start the crawl
EXIT_USAGE = 2  # Scrapy's own usage errors
EXIT_ARCHIVE = 3
EXIT_LOCKED = 4
EXIT_NOT_FINISHED = 5
EXIT_ERRORS = 6
EXIT_NO_ARTICLES = 7
EXIT_REDIS = 8  # a distributed crawl's Redis cannot be reached
EXIT_NO_NETWORK = 9  # the crawl's first URL is out of the network's reach

ARCHIVE_FAILURES = ("archive/write_failed", "archive/sync_failed", "archive/recovery_failures", "archive/lock_lost")


def errors(stats: dict[str, Any]) -> int:
    """Failed downloads (not the requests robots.txt, the address guard or the policy refused),
    server errors, and pages the extractor failed on."""
    failed = stats.get("downloader/exception_count", 0) - stats.get(
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest", 0)
    server = sum(v for k, v in stats.items() if k.startswith("downloader/response_status_count/5"))
    return failed + server + stats.get("extraction/failed", 0)


def exit_status(stats: dict[str, Any], max_error_rate: float, extraction: bool = True) -> tuple[int, str]:
    """The status and its reason, by the README's table, first matching row first."""
    if failed := [name for name in ARCHIVE_FAILURES if stats.get(name)]:
        return EXIT_ARCHIVE, f"archive failures ({', '.join(failed)})"
    reason = stats.get("finish_reason", "not started")
    if reason != "finished":
        return EXIT_NOT_FINISHED, f"the crawl ended with reason {reason!r}"
    requests = stats.get("downloader/request_count", 0)
    if requests and errors(stats) / requests > max_error_rate:
        return EXIT_ERRORS, f"{errors(stats)} errors in {requests} requests, over MAX_ERROR_RATE={max_error_rate}"
    if stats.get("incremental/enabled"):  # entries the state already knows are not new
        listed = stats.get("incremental/listed_new", 0)
    else:
        listed = stats.get("news/discovered/sitemap", 0) + stats.get("news/discovered/feed", 0)
    # A worker of a distributed crawl may list articles that other workers extract.
    if extraction and listed and not stats.get("extraction/articles") and not stats.get("distributed/run"):
        return EXIT_NO_ARTICLES, f"sitemaps and feeds listed {listed} new articles, none was extracted"
    return EXIT_OK, "finished"


def summary(stats: dict[str, Any], *, spider: str, crawl_id: str, archive: str, max_error_rate: float,
            extraction: bool = True) -> dict[str, Any]:
    status, why = exit_status(stats, max_error_rate, extraction)
    started, finished = stats.get("start_time"), stats.get("finish_time") or datetime.now(timezone.utc)
    written, changed = stats.get("textstore/written", 0), stats.get("textstore/new_version", 0)
    return {
        "crawl_id": crawl_id,
        "spider": spider,
        "archive": archive,
        "started": started.isoformat() if started else None,
        "finished": finished.isoformat(),
        "duration_s": round((finished - started).total_seconds(), 1) if started else None,
        "exit_status": status,
        "exit_reason": why,
        "finish_reason": stats.get("finish_reason"),
        "articles": {
            "new": written - changed,
            "changed": changed,
            "unchanged": stats.get("textstore/unchanged", 0),
            "skipped_by_policy": stats.get("incremental/skipped_by_policy", 0),
        },
        "requests": stats.get("downloader/request_count", 0),
        "responses_by_status": dict(sorted(Counter({
            k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("downloader/response_status_count/")
        }).items())),
        "not_modified": stats.get("incremental/not_modified", 0),
        "revisits": stats.get("warc/revisits", 0) + stats.get("warc/not_modified_revisits", 0),
        "bytes_downloaded": stats.get("downloader/response_bytes", 0),
        "warc_bytes_written": stats.get("warc/bytes_written", 0),
        "errors": errors(stats),
        "archive_errors": stats.get("archive/error"),
        "sites": by_site(stats),
        **({"distributed": {
            "run": stats["distributed/run"],
            "worker": stats.get("distributed/worker"),
            "requeued_from_dead_workers": stats.get("distributed/requeued", 0),
            "given_back_at_close": stats.get("distributed/given_back", 0),
            "ended_run": bool(stats.get("distributed/ended_run")),
        }} if stats.get("distributed/run") else {}),
    }


def table(run: dict[str, Any]) -> str:
    articles = run["articles"]
    rows = [
        ("articles", (f"{articles['new']} new, {articles['changed']} changed, {articles['unchanged']} unchanged, "
                      f"{articles['skipped_by_policy']} not due")),
        ("requests", f"{run['requests']} ({', '.join(f'{s}: {n}' for s, n in run['responses_by_status'].items()) or 'none'})"),
        ("304 / revisits", f"{run['not_modified']} / {run['revisits']}"),
        ("downloaded", f"{run['bytes_downloaded']} bytes in {run['duration_s']} s"),
        ("errors", str(run["errors"])),
        ("exit", f"{run['exit_status']}: {run['exit_reason']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join([f"Run summary of {run['spider']} {run['crawl_id']}:"] + [f"  {n:<{width}}  {v}" for n, v in rows]
                     + site_table(run.get("sites", {})))


def site_table(sites: dict[str, dict[str, Any]]) -> list[str]:
    """The per-site lines of the end-of-crawl table: pages, articles new and changed, revisits, errors, bytes, time."""
    if not sites:
        return []
    header = ("site", "pages", "new", "changed", "revisits", "errors", "bytes", "time")
    rows = [header] + [
        (site, str(s["pages"]), str(s["articles_new"]), str(s["articles_changed"]), str(s["revisits"]),
         str(s["errors"]), _bytes(s["bytes"]), f"{s['seconds']:.1f} s" if s["seconds"] < 10 else f"{s['seconds']:.0f} s")
        for site, s in sites.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  " + "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                             for i, (cell, width) in enumerate(zip(row, widths))) for row in rows]


def _bytes(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count} B"



class RunSummary:
    """Extension: the run summary of every crawl, in the archive and at the end of the log."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_error_rate = crawler.settings.getfloat("MAX_ERROR_RATE", 0.5)
        self.extraction = crawler.settings.getbool("EXTRACTION_ENABLED", True)
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("RUN_SUMMARY_ENABLED", True):
            raise NotConfigured
        extension = cls(crawler)
        # engine_stopped: after the stats are final and the story index is written.
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        spider = self.crawler.spider
        crawl_id = getattr(spider, "crawl_id", None)
        if spider is None or crawl_id is None:
            return
        try:
            storage = crawl_storage(self.crawler)
        except ArchiveError:
            return  # the archive never opened: the crawl said so in one line
        run = summary(self.crawler.stats.get_stats(), spider=spider.name, crawl_id=crawl_id,
                      archive=storage.describe(), max_error_rate=self.max_error_rate, extraction=self.extraction)
        try:
            storage.write_atomic(summary_path(spider.name, crawl_id), json.dumps(run, indent=2).encode() + b"\n")
        except ArchiveError as exc:
            write_failed(self.crawler, exc)
            run = summary(self.crawler.stats.get_stats(), spider=spider.name, crawl_id=crawl_id,
                          archive=storage.describe(), max_error_rate=self.max_error_rate, extraction=self.extraction)
        self.crawler.stats.set_value("run/exit_status", run["exit_status"])
        logger.info("%s", table(run))
