"""WARC capture: every HTTP exchange, written as it is downloaded.

The extension listens to ``response_downloaded``, which fires before any downloader
middleware touches the response: the body is still content-encoded as received, and
robots.txt, redirects, errors and retries are all seen. Each exchange becomes a
``response`` (or ``revisit``) and a ``request`` record, WARC/1.1, one gzip member each,
in ``warc/<spider>/<name>.warc.gz.open``; the file is renamed without ``.open`` when
closed (at WARC_MAX_SIZE or at the end of the crawl) and indexed as
``indexes/<name>.cdxj``. Every article record extracted from a response follows as a
``metadata`` record (``application/warc-fields``) that refers to it.

Stored form: the body as received, de-chunked; ``Transfer-Encoding`` is dropped and
``Content-Length`` is set to the stored length, so replay tools serve it exactly.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import socket
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import version
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler.replay import MISS_FLAG
from pipelines.payloads import REPLAYED_MARK, Capture, PayloadIndex, shared_index
from pipelines.storage import ArchiveStorage, storage_from_uri
from pipelines.warcrepair import repair

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

DROPPED_RESPONSE_HEADERS = {"transfer-encoding", "content-length"}
# A payload already archived is written as a revisit: against the whole archive, this crawl, or never.
REVISIT_SCOPES = ("archive", "crawl", "off")
# name: <spider>-<UTC time>-<serial>-<host>-<pid>.warc.gz
WARC_NAME = re.compile(r"^(?P<spider>.+)-(?P<time>\d{20})-(?P<serial>\d{5})-(?P<host>.+)-(?P<pid>\d+)\.warc\.gz$")
# Left out of an article's metadata record: fields that describe the capture itself, and the
# story, which is decided when the crawl ends (stories/index.jsonl) and changes as crawls add articles.
NOT_IN_METADATA = ("warc_filename", "warc_record_id", "story_id")


def request_headers(request: Request) -> StatusAndHeaders:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)]
    for name, values in request.headers.items():
        headers.extend((name.decode("latin-1"), v.decode("latin-1")) for v in values)
    return StatusAndHeaders(f"{request.method} {target} HTTP/1.1", headers, is_http_request=True)


def response_headers(response: Response) -> StatusAndHeaders:
    # Scrapy's HTTP handlers drop the server's reason phrase: the standard one stands in.
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


def payload_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_fields(record: dict[str, Any]) -> bytes:
    """An article record as ``application/warc-fields``: one line per field, each value JSON."""
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in record.items() if key not in NOT_IN_METADATA]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


class WarcFile:
    """One WARC being written: warcinfo first, then records; renamed when closed.

    The file is flushed after every exchange, so a killed crawl loses at most the record
    being written, which the repair on the next start cuts off.
    """

    def __init__(self, storage: ArchiveStorage, relpath: str, warcinfo: dict[str, str]) -> None:
        self.storage = storage
        self.relpath = relpath
        self.name = relpath.rsplit("/", 1)[-1]
        self._file: BinaryIO = storage.open_partial(relpath)
        self.writer = WARCWriter(self._file, gzip=True, warc_version="WARC/1.1")
        self.records = 0
        self._write(self.writer.create_warcinfo_record(self.name, warcinfo))

    @property
    def size(self) -> int:
        return self._file.tell()

    def write_exchange(self, request: Request, response: Response, warc_date: str, original: Capture | None) -> str:
        """Write the response (a revisit of ``original`` if given) and request records."""
        headers = {"WARC-Date": warc_date}
        if response.ip_address is not None:
            headers["WARC-IP-Address"] = str(response.ip_address)
        if original is None:
            response_record = self.writer.create_warc_record(
                response.url, "response", payload=io.BytesIO(response.body), length=len(response.body),
                http_headers=response_headers(response), warc_headers_dict=headers,
            )
        else:
            if original.record_id:  # an earlier crawl's capture is known by URI and date only
                headers["WARC-Refers-To"] = original.record_id
            response_record = self.writer.create_revisit_record(
                response.url, payload_digest(response.body), original.uri, original.date,
                http_headers=response_headers(response), warc_headers_dict=headers,
            )
        record_id = response_record.rec_headers.get_header("WARC-Record-ID")
        request_record = self.writer.create_warc_record(
            response.url, "request", payload=io.BytesIO(request.body), length=len(request.body),
            http_headers=request_headers(request),
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": record_id},
        )
        self._write(response_record, request_record)
        return record_id

    def write_metadata(self, target_uri: str, refers_to: str, fields: bytes, warc_date: str) -> str:
        record = self.writer.create_warc_record(
            target_uri, "metadata", payload=io.BytesIO(fields), length=len(fields),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Refers-To": refers_to},
        )
        self._write(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def _write(self, *records: Any) -> None:
        for record in records:
            self.writer.write_record(record)
        self.records += len(records)
        self._file.flush()

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
        self.revisits = crawler.settings.get("WARC_REVISITS")
        if self.revisits not in REVISIT_SCOPES:
            raise ValueError(f"WARC_REVISITS must be one of {', '.join(REVISIT_SCOPES)}, not {self.revisits!r}")
        # The archive's index is shared by the crawls of this process; "crawl" keeps one per crawl.
        replayed = bool(crawler.settings.get("REPLAY"))
        if self.revisits == "archive":
            self.payloads = shared_index(storage.local_path(""), replayed)
        else:
            self.payloads = PayloadIndex(replayed)
        self._missing_before = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured
        extension = cls(crawler, storage_from_uri(crawler.settings.get("ARCHIVE_URI")))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.repair_leftovers()
        self._missing_before = self.payloads.missing  # the index may be shared with other crawls
        if self.revisits == "archive":
            self.payloads.load(self.storage.local_path("indexes"), self.storage.local_path("warc"))
            self.stats.set_value("warc/payloads_known_at_start", len(self.payloads))

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if MISS_FLAG in response.flags:
            return  # nothing was exchanged: the recording had no such URL
        warc = self._warc(spider)
        fetched = datetime.now(timezone.utc)
        warc_date = datetime_to_iso_date(fetched.replace(tzinfo=None), use_micros=True)  # warcio wants naive UTC
        digest = payload_digest(response.body)
        # Only whole 200 bodies are deduplicated: empty redirects and error pages stay responses.
        dedupable = response.status == 200 and bool(response.body) and self.revisits != "off"
        original = self.payloads.original(digest) if dedupable else None
        record_id = warc.write_exchange(request, response, warc_date, original)
        if dedupable and original is None:
            self.payloads.add(digest, Capture(response.url, warc_date, record_id))
        # request.meta is response.meta: the spider reads where its page is archived.
        request.meta["warc_record_id"] = record_id
        request.meta["warc_filename"] = warc.name
        request.meta["warc_date"] = fetched.isoformat(timespec="seconds")
        self.stats.inc_value("warc/records_written", 2)
        self.stats.inc_value("warc/exchanges")
        if original is not None:
            self.stats.inc_value("warc/revisits")
        self._rotate_if_full()

    def item_scraped(self, item: Any, spider: Spider) -> None:
        """The article record extracted from a response, as a metadata record referring to it."""
        if not isinstance(item, dict) or not item.get("warc_record_id"):
            return
        warc = self._warc(spider)
        now = datetime_to_iso_date(datetime.now(timezone.utc).replace(tzinfo=None), use_micros=True)
        warc.write_metadata(item["url"], item["warc_record_id"], warc_fields(item), now)
        self.stats.inc_value("warc/records_written")
        self.stats.inc_value("warc/metadata_records")
        self._rotate_if_full()

    def spider_closed(self, spider: Spider) -> None:
        self._close_current()
        if missing := self.payloads.missing - self._missing_before:
            self.stats.set_value("warc/revisit_originals_missing", missing)

    def repair_leftovers(self) -> None:
        """Close ``.open`` files that crashed crawls on this host left, whatever their spider.

        Every spider's, not only this one's: the revisits of one spider may point at
        another's captures, which must be closed and indexed to replay.
        """
        for path in sorted(self.storage.local_path("warc").glob("*/*.warc.gz.open")):
            spider_name = path.parent.name
            match = WARC_NAME.match(path.name.removesuffix(".open"))
            if not match or match["host"] != self._hostname or _pid_alive(int(match["pid"])):
                continue  # another live crawl's file, or another machine's
            scan = repair(path)
            name = match.group(0)
            cut = scan.total_bytes - scan.good_bytes
            self.stats.inc_value("warc/files_repaired")
            if scan.records == 0:
                path.unlink()
                logger.warning("Removed %s left by a crash: no complete record in its %d bytes", path, scan.total_bytes)
                continue
            final = self.storage.complete(f"warc/{spider_name}/{name}")
            logger.warning(
                "Repaired %s left by a crash: kept %d complete records, cut %d bytes of a torn record",
                final, scan.records, cut,
            )
            try:
                write_cdxj(self.storage, final, name)
            except Exception as exc:  # an unreadable record must not stop the new crawl
                self.stats.inc_value("warc/index_failed")
                logger.error("Could not index the repaired %s: %s: %s", final, type(exc).__name__, exc)

    def _warc(self, spider: Spider) -> WarcFile:
        if self.current is None:
            now = datetime.now(timezone.utc)
            name = f"{spider.name}-{now:%Y%m%d%H%M%S%f}-{next(self._serial):05d}-{self._hostname}-{os.getpid()}.warc.gz"
            self.current = WarcFile(self.storage, f"warc/{spider.name}/{name}", self._warcinfo(spider))
            self.stats.inc_value("warc/files_opened")
        return self.current

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
            info["description"] = f"{REPLAYED_MARK} {settings.get('REPLAY')}, not fetched live"
        return info

    def _rotate_if_full(self) -> None:
        if self.current is not None and self.current.size >= self.max_size:
            self._close_current()

    def _close_current(self) -> None:
        if self.current is None:
            return
        warc, self.current = self.current, None
        path = warc.close()
        self.stats.inc_value("warc/files_closed")
        self.stats.inc_value("warc/bytes_written", os.path.getsize(path))
        write_cdxj(self.storage, path, warc.name)
        logger.info("Closed WARC %s (%d records)", path, warc.records)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_cdxj(storage: ArchiveStorage, warc_path: str | Path, warc_name: str) -> None:
    """``indexes/<name>.cdxj`` for a closed WARC, with cdxj-indexer."""
    from cdxj_indexer.main import write_cdx_index

    index_name = warc_name.removesuffix(".warc.gz") + ".cdxj"
    buffer = io.StringIO()
    write_cdx_index(buffer, [str(warc_path)], {"sort": True, "filename": warc_name})
    storage.write_atomic(f"indexes/{index_name}", buffer.getvalue().encode("utf-8"))
