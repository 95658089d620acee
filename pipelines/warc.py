"""WARC capture: every HTTP exchange, written as it is downloaded.

The extension listens to ``response_downloaded``, which fires before any downloader
middleware touches the response: the body is still content-encoded as received,
and robots.txt, redirects, errors and retries are all seen. Each exchange becomes a
request and a response record (WARC/1.1, one gzip member each) in
``warc/<spider>/<name>.warc.gz.open``; the file is renamed without ``.open`` when
closed (at WARC_MAX_SIZE or at the end of the crawl) and indexed as
``indexes/<name>.cdxj``.

Stored form: the body as received, de-chunked; ``Transfer-Encoding`` is dropped and
``Content-Length`` is set to the stored length, so replay tools serve it exactly.
"""

from __future__ import annotations

import io
import logging
import os
import socket
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import version
from itertools import count
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler.replay import MISS_FLAG
from pipelines.storage import ArchiveStorage, storage_from_uri

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

DROPPED_RESPONSE_HEADERS = {"transfer-encoding", "content-length"}


def request_headers(request: Request) -> StatusAndHeaders:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)]
    for name, values in request.headers.items():
        headers.extend((name.decode("latin-1"), v.decode("latin-1")) for v in values)
    return StatusAndHeaders(f"{request.method} {target} HTTP/1.1", headers, is_http_request=True)


def response_headers(response: Response) -> StatusAndHeaders:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    headers = []
    for name, values in response.headers.items():
        text_name = name.decode("latin-1")
        if text_name.lower() not in DROPPED_RESPONSE_HEADERS:
            headers.extend((text_name, v.decode("latin-1")) for v in values)
    headers.append(("Content-Length", str(len(response.body))))
    protocol = response.protocol or "HTTP/1.1"
    return StatusAndHeaders(f"{response.status} {reason}".strip(), headers, protocol=protocol)


class WarcFile:
    """One WARC being written: warcinfo first, then records; renamed when closed."""

    def __init__(self, storage: ArchiveStorage, relpath: str, warcinfo: dict[str, str]) -> None:
        self.storage = storage
        self.relpath = relpath
        self.name = relpath.rsplit("/", 1)[-1]
        self._file: BinaryIO = storage.open_partial(relpath)
        self.writer = WARCWriter(self._file, gzip=True, warc_version="WARC/1.1")
        self.writer.write_record(self.writer.create_warcinfo_record(self.name, warcinfo))
        self.records = 1

    @property
    def size(self) -> int:
        return self._file.tell()

    def write_exchange(self, request: Request, response: Response, warc_date: str) -> str:
        """Write the request and response records; return the response's WARC-Record-ID."""
        response_record = self.writer.create_warc_record(
            response.url, "response",
            payload=io.BytesIO(response.body), length=len(response.body),
            http_headers=response_headers(response),
            warc_headers_dict=self._common_headers(response, warc_date),
        )
        record_id = response_record.rec_headers.get_header("WARC-Record-ID")
        request_record = self.writer.create_warc_record(
            response.url, "request",
            payload=io.BytesIO(request.body), length=len(request.body),
            http_headers=request_headers(request),
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": record_id},
        )
        self.writer.write_record(response_record)
        self.writer.write_record(request_record)
        self.records += 2
        return record_id

    @staticmethod
    def _common_headers(response: Response, warc_date: str) -> dict[str, str]:
        headers = {"WARC-Date": warc_date}
        if response.ip_address is not None:
            headers["WARC-IP-Address"] = str(response.ip_address)
        return headers

    def close(self) -> str:
        self._file.close()
        return self.storage.complete(self.relpath)


class WarcCapture:
    """Scrapy extension writing every exchange to rotating WARC files."""

    def __init__(self, crawler: Crawler, storage: ArchiveStorage) -> None:
        self.crawler = crawler
        self.storage = storage
        self.stats = crawler.stats
        self.max_size = crawler.settings.getint("WARC_MAX_SIZE")
        self.current: WarcFile | None = None
        self._serial = count()
        self._hostname = socket.gethostname()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured
        extension = cls(crawler, storage_from_uri(crawler.settings.get("ARCHIVE_URI")))
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if MISS_FLAG in response.flags:
            return  # nothing was exchanged: the recording had no such URL
        if self.current is None:
            self.current = self._open(spider)
        fetched = datetime.now(timezone.utc)
        warc_date = datetime_to_iso_date(fetched.replace(tzinfo=None), use_micros=True)  # warcio wants naive UTC
        record_id = self.current.write_exchange(request, response, warc_date)
        # request.meta is response.meta: the spider reads where its page is archived.
        request.meta["warc_record_id"] = record_id
        request.meta["warc_filename"] = self.current.name
        request.meta["warc_date"] = fetched.isoformat(timespec="seconds")
        self.stats.inc_value("warc/records_written", 2)
        self.stats.inc_value("warc/exchanges")
        if self.current.size >= self.max_size:
            self._close_current()

    def spider_closed(self, spider: Spider) -> None:
        self._close_current()

    def _open(self, spider: Spider) -> WarcFile:
        now = datetime.now(timezone.utc)
        name = f"{spider.name}-{now:%Y%m%d%H%M%S%f}-{next(self._serial):05d}-{self._hostname}-{os.getpid()}.warc.gz"
        self.stats.inc_value("warc/files_opened")
        return WarcFile(self.storage, f"warc/{spider.name}/{name}", self._warcinfo(spider))

    def _warcinfo(self, spider: Spider) -> dict[str, str]:
        settings = self.crawler.settings
        info = {
            "software": f"news-archiver/{version('news-archiver')} (Scrapy {version('scrapy')}; warcio {version('warcio')})",
            "hostname": self._hostname,
            "operator": settings.get("WARC_OPERATOR") or "unknown",
            "http-header-user-agent": settings.get("USER_AGENT"),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "isPartOf": getattr(spider, "crawl_id", spider.name),
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        }
        if settings.get("REPLAY"):
            info["description"] = f"Replayed from the recording {settings.get('REPLAY')}, not fetched live"
        return info

    def _close_current(self) -> None:
        if self.current is None:
            return
        warc, self.current = self.current, None
        path = warc.close()
        self.stats.inc_value("warc/files_closed")
        self.stats.inc_value("warc/bytes_written", os.path.getsize(path))
        write_cdxj(self.storage, path, warc.name)
        logger.info("Closed WARC %s (%d records)", path, warc.records)


def write_cdxj(storage: ArchiveStorage, warc_path: str, warc_name: str) -> None:
    """``indexes/<name>.cdxj`` for a closed WARC, with cdxj-indexer."""
    from cdxj_indexer.main import write_cdx_index

    index_name = warc_name.removesuffix(".warc.gz") + ".cdxj"
    buffer = io.StringIO()
    write_cdx_index(buffer, [warc_path], {"sort": True, "filename": warc_name})
    storage.write_atomic(f"indexes/{index_name}", buffer.getvalue().encode("utf-8"))
