"""WARC capture: every HTTP exchange, written as it is downloaded.

The extension listens to ``response_downloaded``, which fires before any downloader
middleware touches the response: the body is still content-encoded as received, and
robots.txt, redirects, errors and retries are all seen. Each exchange becomes a
``response`` (or ``revisit``) and a ``request`` record in the current WARC
(``archiving.warcfile``), which is closed at WARC_MAX_SIZE or at the end of the crawl and
indexed. Every article record extracted from a response follows as a ``metadata`` record
(``application/warc-fields``) that refers to it.

Stored form: the status line and header lines as received (``crawler.received``: reason
phrase, order, name case, repeats), and the body as received, de-chunked; ``Transfer-Encoding``
is dropped and ``Content-Length`` is set to the stored length, so replay tools serve it exactly.
A body cut at DOWNLOAD_MAXSIZE is marked ``WARC-Truncated: length``. The values of the request
headers named by WARC_REDACT_HEADERS (credentials) are written as ``[redacted]``.

A failed write closes the crawl (``archiving.crawls.write_failed``): no later response is
written, so no article record can name a capture that is not in a WARC.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import version
from itertools import count
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.threads import deferToThread
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date

from archiving.crawls import crawl_storage, write_failed
from archiving.layout import warc_fields, warc_name, warc_path, warcinfo_fields
from archiving.payloads import Capture, PayloadIndex, shared_index
from archiving.storage import ArchiveError, ArchiveStorage, ArchiveWriteError, reason
from archiving.warcfile import Original, WarcFile, payload_digest
from crawler.distributed import shared_payloads
from crawler.incremental import NOT_MODIFIED_ORIGINAL, PAYLOAD_CAPTURE
from crawler.received import TRUNCATED_FLAG, received_head
from crawler.replay import MISS_FLAG
from crawler.sitestats import REVISIT
from crawler.urls import url_key
from pipelines.record import ArticleRecord

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure
    from typing_extensions import Self

logger = logging.getLogger(__name__)

DROPPED_RESPONSE_HEADERS = {"transfer-encoding", "content-length"}
# A payload already archived is written as a revisit: against the whole archive, this crawl, or never.
REVISIT_SCOPES = ("archive", "crawl", "off")
REDACTED = "[redacted]"
# Response flags whose body is not whole -> the WARC-Truncated reason (WARC 1.1).
TRUNCATION_REASONS = {TRUNCATED_FLAG: "length", "dataloss": "disconnect"}


class ExactStatusAndHeaders(StatusAndHeaders):
    """Status line and headers written byte for byte: each character is the byte received (latin-1).

    warcio would percent-encode a value that is not ASCII (RFC 8187); a server's own bytes
    (obs-text) are kept instead.
    """

    def to_ascii_bytes(self, filter_func: Any = None) -> bytes:
        try:
            return self.to_str(filter_func).encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:  # not from the wire (a character over U+00FF): warcio's encoding
            return super().to_ascii_bytes(filter_func)


def redacted_names(value: str | list[str] | tuple[str, ...] | None) -> frozenset[str]:
    """WARC_REDACT_HEADERS (comma-separated or a list) as lower-case header names."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    return frozenset(name.strip().lower() for name in names if name.strip())


def request_headers(request: Request, redact: frozenset[str] = frozenset()) -> StatusAndHeaders:
    """The request line and headers Scrapy sent; the values of ``redact`` (lower-case names) hidden."""
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)]
    for name, values in request.headers.items():
        text_name = name.decode("latin-1")
        hidden = text_name.lower() in redact
        headers.extend((text_name, REDACTED if hidden else v.decode("latin-1")) for v in values)
    return ExactStatusAndHeaders(f"{request.method} {target} HTTP/1.1", headers, is_http_request=True)


def response_headers(response: Response) -> StatusAndHeaders:
    """The status line and headers as received, with framing that describes the stored body:
    no ``Transfer-Encoding`` (the body is stored de-chunked) and ``Content-Length`` its length
    (in the place the server put it, else last)."""
    head = received_head(response)
    if head is not None:
        protocol, statusline, received = head.protocol, head.statusline, head.headers
    else:
        # A handler that keeps no head (Scrapy's own): Scrapy's headers, the standard phrase.
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        protocol, statusline = response.protocol or "HTTP/1.1", f"{response.status} {phrase}".strip()
        received = [(name.decode("latin-1"), v.decode("latin-1")) for name, values in response.headers.items() for v in values]
    length = str(len(response.body))
    headers: list[tuple[str, str]] = []
    for name, value in received:
        lower = name.strip().lower()
        if lower == "content-length" and not any(n.strip().lower() == lower for n, _ in headers):
            headers.append((name, length))
        elif lower not in DROPPED_RESPONSE_HEADERS:
            headers.append((name, value))
    if not any(name.strip().lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", length))
    return ExactStatusAndHeaders(statusline, headers, protocol=protocol)


def truncation(response: Response) -> str | None:
    """The WARC-Truncated reason of a response whose body is not whole, else None."""
    return next((reason for flag, reason in TRUNCATION_REASONS.items() if flag in response.flags), None)


def warc_now() -> tuple[datetime, str]:
    now = datetime.now(timezone.utc)
    return now, datetime_to_iso_date(now.replace(tzinfo=None), use_micros=True)  # warcio wants naive UTC


class WarcCapture:
    """Scrapy extension writing every exchange to rotating WARC files."""

    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.crawler = crawler
        self.storage = storage
        self.stats = crawler.stats
        self.max_size = crawler.settings.getint("WARC_MAX_SIZE")
        self.redact = redacted_names(crawler.settings.get("WARC_REDACT_HEADERS"))
        self.current: WarcFile | None = None
        self._closing: list[Deferred] = []
        self.failed = False
        self._serial = count()
        self._hostname = socket.gethostname()
        self.revisits = crawler.settings.get("WARC_REVISITS")
        if self.revisits not in REVISIT_SCOPES:
            raise ValueError(f"WARC_REVISITS must be one of {', '.join(REVISIT_SCOPES)}, not {self.revisits!r}")
        # The archive's index is shared by the crawls of this process; "crawl" keeps one per crawl.
        replayed = bool(crawler.settings.get("REPLAY"))
        if self.revisits == "archive":
            self.payloads = shared_index(storage, replayed)
        else:
            self.payloads = PayloadIndex(storage, replayed)
        self._missing_before = 0
        # A distributed crawl's workers share the payloads of the run (crawler.distributed).
        self.shared = shared_payloads(crawler) if self.revisits != "off" else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured
        extension = cls(crawler, crawl_storage(crawler))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self._missing_before = self.payloads.missing  # the index may be shared with other crawls
        if self.revisits == "archive":
            try:
                self.payloads.load()
            except ArchiveError as exc:
                write_failed(self.crawler, exc)
            self.stats.set_value("warc/payloads_known_at_start", len(self.payloads))

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if MISS_FLAG in response.flags:
            return  # nothing was exchanged: the recording had no such URL
        if self.failed:
            self.stats.inc_value("warc/not_written")  # the crawl is closing after a failed write
            return
        fetched, warc_date = warc_now()
        digest = payload_digest(response.body)
        truncated = truncation(response)
        # Only whole 200 bodies are deduplicated: empty redirects, error pages and cut bodies stay responses.
        dedupable = response.status == 200 and bool(response.body) and self.revisits != "off" and truncated is None
        confirmed = request.meta.get(NOT_MODIFIED_ORIGINAL) if response.status == 304 else None
        if confirmed and url_key(confirmed["uri"]) != url_key(response.url):
            confirmed = None  # a 304 for another URL than the capture it would confirm: kept as a response
        original = self.payloads.original(digest) if dedupable else None
        if original is None and dedupable and self.shared is not None and (found := self.shared.first(digest)):
            original = Capture(found["uri"], found["date"], found["record_id"])
        refers_to = (Original(confirmed["uri"], confirmed["date"], confirmed["record_id"], not_modified=True,
                              digest=confirmed.get("digest"))
                     if confirmed else original.original() if original else None)
        try:
            warc = self._warc(spider)
            record_id = warc.write_exchange(
                response.url, request_headers(request, self.redact), request.body, response_headers(response),
                response.body, warc_date, None if response.ip_address is None else str(response.ip_address), refers_to,
                truncated,
            )
        except (ArchiveError, OSError) as exc:
            self._fail(exc, f"cannot write {response.url} to {self._where()}")
            return
        if dedupable and original is None:
            self.payloads.add(digest, Capture(response.url, warc_date, record_id))
            if self.shared is not None:
                warc.flush()
                self.shared.add(digest, {"uri": response.url, "date": warc_date, "record_id": record_id})
        # request.meta is response.meta: the spider reads where its page is archived.
        request.meta["warc_record_id"] = record_id
        request.meta["warc_filename"] = warc.name
        request.meta["warc_date"] = fetched.isoformat(timespec="seconds")
        if response.status == 200 and truncated is None:
            # The record that holds this payload: what a later 304 for this URL confirms.
            holder = original or Capture(response.url, warc_date, record_id)
            request.meta[PAYLOAD_CAPTURE] = {"uri": holder.uri, "date": holder.date, "record_id": holder.record_id,
                                             "digest": digest}
        self.stats.inc_value("warc/records_written", 2)
        self.stats.inc_value("warc/exchanges")
        # Set on every response, redirects included: the meta a redirect copies is overwritten.
        request.meta[REVISIT] = refers_to is not None
        if refers_to is not None:
            self.stats.inc_value("warc/not_modified_revisits" if confirmed else "warc/revisits")
        if truncated is not None:
            self.stats.inc_value("warc/truncated")
        self._rotate_if_full()

    def item_scraped(self, item: Any, spider: Spider) -> None:
        """The article record extracted from a response, as a metadata record referring to it."""
        if not isinstance(item, ArticleRecord) or not item.warc_record_id or self.failed:
            return
        _, now = warc_now()
        try:
            self._warc(spider).write_metadata(item.url, item.warc_record_id, warc_fields(item.as_dict()), now)
        except (ArchiveError, OSError) as exc:
            self._fail(exc, f"cannot write the metadata of {item.url} to {self._where()}")
            return
        self.stats.inc_value("warc/records_written")
        self.stats.inc_value("warc/metadata_records")
        self._rotate_if_full()

    async def spider_closed(self, spider: Spider) -> None:
        self._close_current()
        if missing := self.payloads.missing - self._missing_before:
            self.stats.set_value("warc/revisit_originals_missing", missing)
        await maybe_deferred_to_future(DeferredList(self._closing))  # the spider closes once every WARC is closed

    def _warc(self, spider: Spider) -> WarcFile:
        if self.current is None:
            now = datetime.now(timezone.utc)
            name = warc_name(spider.name, f"{now:%Y%m%d%H%M%S%f}", next(self._serial), self._hostname, os.getpid())
            self.current = WarcFile(self.storage, warc_path(spider.name, name), self._warcinfo(spider))
            self.stats.inc_value("warc/files_opened")
        return self.current

    def _warcinfo(self, spider: Spider) -> dict[str, str]:
        settings = self.crawler.settings
        return warcinfo_fields(
            software=f"news-archiver/{version('news-archiver')} (Scrapy {version('scrapy')}; warcio {version('warcio')})",
            hostname=self._hostname, operator=settings.get("WARC_OPERATOR"), user_agent=settings.get("USER_AGENT"),
            robots_obey=settings.getbool("ROBOTSTXT_OBEY"), crawl_id=getattr(spider, "crawl_id", spider.name),
            replayed_from=settings.get("REPLAY"),
        )

    def _rotate_if_full(self) -> None:
        if self.current is not None and self.current.size >= self.max_size:
            self._close_current()

    def _close_current(self) -> None:
        """Close the current WARC off the reactor: indexing and uploading a large file takes a while."""
        if self.current is None:
            return
        warc, self.current = self.current, None
        closing = deferToThread(warc.close_torn if self.failed else warc.close)
        closing.addCallbacks(self._closed, self._close_failed, callbackArgs=(warc,), errbackArgs=(warc,))
        self._closing.append(closing)

    def _closed(self, size: int, warc: WarcFile) -> None:
        self.stats.inc_value("warc/files_closed")
        self.stats.inc_value("warc/bytes_written", size)
        logger.info("Closed WARC %s (%d records)", self.storage.describe(warc.path), warc.records)

    def _close_failed(self, failure: Failure, warc: WarcFile) -> None:
        # Left partial (local) or pending (remote): the next start repairs, uploads and indexes it.
        if not failure.check(ArchiveError, OSError):
            failure.raiseException()
        self._fail(failure.value, f"cannot close {self.storage.describe(warc.path)}")

    def _where(self) -> str:
        return self.storage.describe(self.current.path) if self.current else self.storage.describe()

    def _fail(self, exc: BaseException, context: str) -> None:
        self.failed = True
        error = exc if isinstance(exc, ArchiveError) else ArchiveWriteError(f"{context}: {reason(exc)}")
        write_failed(self.crawler, error)
