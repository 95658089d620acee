"""Failed downloads: one clear log line and one ``errors/<kind>`` stat each, never a traceback.

A web server can send anything (garbage status lines, resets mid-body, bodies that trickle or
never come); none of it is a bug of the crawler, so none of it deserves a traceback.
``DownloadFailureMiddleware`` sits outermost in the downloader chain: it sees a failure after
every other middleware (retries included) has had its say, names it (``failure_kind``), logs
one WARNING line, counts ``errors/<kind>`` and hands the request back as ignored, so Scrapy
logs nothing more. Kinds are listed in docs/reference.md (Stats). An exception of no known
kind (``other``) is no server's doing but may be a component's bug: its line keeps the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotSupported,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from twisted.internet import error as net
from twisted.web._newclient import ParseError, ResponseFailed, ResponseNeverReceived
from twisted.web.http import _DataLoss, _MalformedChunkedDataError

from crawler.sitestats import count_error

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

# Checked in order against the exception and every exception it wraps: the first match names it.
KINDS: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
    ("bad_response", (ParseError, _MalformedChunkedDataError)),  # not HTTP as RFC 9112 writes it
    ("timeout", (DownloadTimeoutError, net.TimeoutError, net.TCPTimedOutError)),
    ("too_large", (DownloadCancelledError,)),  # DOWNLOAD_MAXSIZE, with Scrapy's own download handler
    ("dns", (CannotResolveHostError, net.DNSLookupError)),
    ("connection_refused", (DownloadConnectionRefusedError, net.ConnectionRefusedError)),
    ("data_loss", (ResponseDataLossError, _DataLoss)),  # the body ended before its announced length
    ("no_answer", (ResponseNeverReceived,)),  # the connection ended before a status line
    ("connection_lost", (net.ConnectionLost, net.ConnectionDone, net.ConnectError)),
    ("unsupported", (NotSupported, UnsupportedURLSchemeError)),
)


def _chain(exception: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (``raise ... from``), and the reasons of Twisted's wrappers."""
    seen: set[int] = set()
    todo = [exception]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(f.value for f in getattr(current, "reasons", None) or [] if hasattr(f, "value"))
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def failure_kind(exception: BaseException) -> str:
    """A short name for why a download failed (``timeout``, ``bad_response``...), or ``other``."""
    chain = list(_chain(exception))
    for kind, types in KINDS:
        if any(isinstance(e, types) for e in chain):
            return kind
    # Twisted's parser rejects some header values (``Content-Length: abc``) with a bare ValueError;
    # one raised anywhere else is no server's doing.
    if any(isinstance(e, ResponseFailed) and any(isinstance(f.value, ValueError) for f in e.reasons) for e in chain):
        return "bad_response"
    return "other"


def failure_detail(exception: BaseException) -> str:
    """The most telling message in the chain: the innermost one that says something."""
    messages = [str(e) for e in _chain(exception) if str(e) and not str(e).startswith("[<twisted")]
    detail = (messages[-1] if messages else type(exception).__name__).replace("\n", " ")
    return detail if len(detail) <= 200 else detail[:197] + "..."


class DownloadFailed(IgnoreRequest):
    """A download that failed for good, already logged and counted; ``kind`` says why."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"download failed: {kind}")
        self.kind = kind


class DownloadFailureMiddleware:
    """Log and count a failed download once, then let it go quietly (see the module doc)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        if isinstance(exception, IgnoreRequest):
            return  # whoever ignored it said why
        kind = failure_kind(exception)
        attempts = request.meta.get("retry_times", 0) + 1
        logger.warning(
            "Download failed (%s, %s): %s: %s", kind, "1 attempt" if attempts == 1 else f"{attempts} attempts",
            request.url, failure_detail(exception),
            # An exception no server explains may be a bug of a component: that one keeps its traceback.
            exc_info=exception if kind == "other" else None,
        )
        self.stats.inc_value(f"errors/{kind}")
        count_error(self.stats, request.url)
        raise DownloadFailed(kind) from exception
