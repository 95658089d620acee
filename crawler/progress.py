"""A crawl you can watch: a progress line every ``PROGRESS_INTERVAL`` seconds.

In the manner of Scrapy's LogStats (which it replaces): pages and pages per second, articles new /
changed / unchanged, revisits, errors, and the requests still queued. On a terminal it is one line
rewritten in place, with a bar of the requests done over those known so far (the total grows as
sitemaps and pages reveal more); log lines scroll above it. In a log file or the journal it is a
plain log line each time.
"""

from __future__ import annotations

import logging
import shutil
import time
from typing import TYPE_CHECKING, Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.outcome import errors

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

CLEAR = "\r\x1b[K"  # back to the line's start, erase it
BAR_WIDTH = 20


def progress_line(stats: dict[str, Any], elapsed: float, rate: float, queued: int | None, in_flight: int,
                  bar: bool = False) -> str:
    """``0:01:02 [####....] 120/410 | 130 pages, 4.1/s | articles 100 new, 2 changed, 5 unchanged | 3 revisits |
    1 errors | 290 queued``: the bar (requests done over those known so far) on a terminal only."""
    pages = stats.get("response_received_count", 0)
    written, changed = stats.get("textstore/written", 0), stats.get("textstore/new_version", 0)
    revisits = stats.get("warc/revisits", 0) + stats.get("warc/not_modified_revisits", 0)
    head = _duration(elapsed)
    known = stats.get("scheduler/enqueued", 0)
    if bar and queued is not None and known:
        done = min(known, max(0, known - queued - in_flight))
        filled = round(BAR_WIDTH * done / known)
        head += f" [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{known}"
    parts = [
        head,
        f"{pages} pages, {rate:.1f}/s",
        f"articles {written - changed} new, {changed} changed, {stats.get('textstore/unchanged', 0)} unchanged",
        f"{revisits} revisits",
        f"{errors(stats)} errors",
    ]
    if queued is not None:
        parts.append(f"{queued} queued")
    return " | ".join(parts)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class StatusStream:
    """A terminal stream with a status line kept at its bottom: a write clears it, then draws it again."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.status = ""

    def write(self, text: str) -> int:
        if self.status:
            self.stream.write(CLEAR)
        written = self.stream.write(text)
        if self.status and text.endswith("\n"):
            self.stream.write(self.status)
        self.stream.flush()
        return written

    def show(self, status: str) -> None:
        width = shutil.get_terminal_size((120, 24)).columns
        self.status = status[: width - 1]
        self.stream.write(CLEAR + self.status)
        self.stream.flush()

    def clear(self) -> None:
        if self.status:
            self.stream.write(CLEAR)
            self.stream.flush()
            self.status = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _terminal_handler() -> logging.StreamHandler | None:
    """Scrapy's log handler, when it writes to a terminal."""
    from scrapy.utils import log

    handler = getattr(log, "_scrapy_root_handler", None)
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return None
    stream = handler.stream
    return handler if getattr(stream, "isatty", lambda: False)() else None


class CrawlProgress:
    """Extension: the progress line (module docstring)."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.interval = interval
        self.started = time.monotonic()
        self.last_pages, self.last_time = 0, self.started
        self.loop: task.LoopingCall | None = None
        self.terminal: StatusStream | None = None
        self.handler: logging.StreamHandler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        extension = cls(crawler, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.started = self.last_time = time.monotonic()
        if (handler := _terminal_handler()) is not None:
            self.handler, self.terminal = handler, StatusStream(handler.stream)
            handler.setStream(self.terminal)
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def tick(self) -> None:
        stats = self.stats.get_stats()
        now = time.monotonic()
        pages = stats.get("response_received_count", 0)
        rate = (pages - self.last_pages) / max(now - self.last_time, 1e-6)
        self.last_pages, self.last_time = pages, now
        line = progress_line(stats, now - self.started, rate, self._queued(), self._in_flight(),
                             bar=self.terminal is not None)
        if self.terminal is not None:
            self.terminal.show(line)
        else:
            logger.info("Progress: %s", line)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.terminal is not None and self.handler is not None:
            self.terminal.clear()
            self.handler.setStream(self.terminal.stream)
            self.terminal = None

    def _queued(self) -> int | None:
        scheduler = getattr(getattr(self.crawler.engine, "_slot", None), "scheduler", None)
        try:
            return len(scheduler) if scheduler is not None else None
        except Exception:  # noqa: BLE001 - a scheduler without a length (or its Redis away)
            return None

    def _in_flight(self) -> int:
        downloader = getattr(self.crawler.engine, "downloader", None)
        return len(getattr(downloader, "active", ()))

