"""Writing one WARC: warcinfo first, then exchanges and metadata, one gzip member per record.

The file is a partial file of the archive storage until it is closed; it is flushed after
every record group, so a killed crawl loses at most the record being written, which the
next start cuts off (``archiving.recovery``).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiving.cdxj import cdxj_of_file
from archiving.layout import basename, cdxj_path
from archiving.repair import repair
from archiving.storage import ArchiveStorage


def http_fields(response: StatusAndHeaders) -> bytes:
    """A response's status line and headers, in order, as ``application/warc-fields``."""
    lines = [f"http-status-line: {response.protocol} {response.statusline}"]
    lines += [f"http-header: {name}: {value}" for name, value in response.headers]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def payload_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class Original:
    """The capture a revisit record refers to."""

    uri: str
    date: str
    record_id: str | None = None  # an earlier crawl's capture may be known by URI and date only
    not_modified: bool = False  # the server answered 304 to a conditional request: server-not-modified profile
    digest: str | None = None  # the confirmed payload's digest (server-not-modified): it resolves like a digest revisit


class WarcFile:
    def __init__(self, storage: ArchiveStorage, path: str, warcinfo: dict[str, str]) -> None:
        self.storage = storage
        self.path = path
        self.name = basename(path)
        self._file: BinaryIO = storage.open_partial(path)  # unbuffered: a failed write leaves nothing pending
        # Records are composed in memory and written whole, so a failure tears at most the last one.
        self._pending = io.BytesIO()
        self.writer = WARCWriter(self._pending, gzip=True, warc_version="WARC/1.1")
        self.records = 0
        self.size = 0
        try:
            self._write(self.writer.create_warcinfo_record(self.name, warcinfo))
        except BaseException:
            storage.discard_partial(path, self._file)  # nothing whole in it: leave no partial file
            raise

    def write_exchange(
        self, url: str, request: StatusAndHeaders, request_body: bytes, response: StatusAndHeaders, body: bytes,
        warc_date: str, ip_address: str | None = None, original: Original | None = None, truncated: str | None = None,
    ) -> str:
        """The response (a revisit of ``original`` if given) and its request; returns the response's record id.

        ``truncated`` is the WARC 1.1 ``WARC-Truncated`` reason (``length``, ``disconnect``...)
        of a response whose body is not whole.
        """
        headers = {"WARC-Date": warc_date}
        if ip_address is not None:
            headers["WARC-IP-Address"] = ip_address
        if truncated is not None and original is None:
            headers["WARC-Truncated"] = truncated
        if original is None:
            response_record = self.writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body),
                http_headers=response, warc_headers_dict=headers,
            )
        elif original.not_modified:
            # WARC 1.1 server-not-modified profile. The block is left empty so that replay tools
            # (pywb) serve the capture it confirms; the 304 as received follows as metadata.
            headers.update({"WARC-Profile": NOT_MODIFIED_PROFILE, "WARC-Refers-To-Target-URI": original.uri,
                            "WARC-Refers-To-Date": original.date})
            if original.record_id:
                headers["WARC-Refers-To"] = original.record_id
            if original.digest:
                headers["WARC-Payload-Digest"] = original.digest
            response_record = self.writer.create_warc_record(
                url, "revisit", payload=io.BytesIO(b""), length=0, warc_headers_dict=headers,
            )
        else:
            if original.record_id:
                headers["WARC-Refers-To"] = original.record_id
            response_record = self.writer.create_revisit_record(
                url, payload_digest(body), original.uri, original.date,
                http_headers=response, warc_headers_dict=headers,
            )
        record_id = response_record.rec_headers.get_header("WARC-Record-ID")
        request_record = self.writer.create_warc_record(
            url, "request", payload=io.BytesIO(request_body), length=len(request_body), http_headers=request,
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": record_id},
        )
        records = [response_record, request_record]
        if original is not None and original.not_modified:
            fields = http_fields(response)
            records.insert(1, self.writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(fields), length=len(fields), warc_content_type="application/warc-fields",
                warc_headers_dict={"WARC-Date": warc_date, "WARC-Refers-To": record_id},
            ))
        self._write(*records)
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
        data = self._pending.getbuffer()
        try:
            written = 0
            while written < len(data):
                written += self._file.write(data[written:])
        finally:
            del data
            self._pending.seek(0)
            self._pending.truncate()
        self.size += written
        self.records += len(records)

    def flush(self) -> None:
        """Hand what is written to the system: a crash of the process no longer loses it."""
        self._file.flush()

    def close(self) -> int:
        """Complete the file, then its CDXJ (written after the WARC it indexes); returns its size."""
        size = self.size
        close_warc(self.storage, self.path, self._file)
        return size

    def close_torn(self) -> int:
        """Close after a failed write: cut the torn record, keep every whole one; returns the size kept."""
        scan = repair(self._file)
        if scan.records == 0:
            self.storage.discard_partial(self.path, self._file)
            return 0
        close_warc(self.storage, self.path, self._file)
        return scan.good_bytes


def close_warc(storage: ArchiveStorage, path: str, file: BinaryIO) -> None:
    """Index a whole partial WARC, publish it, then publish its index."""
    file.flush()
    index = cdxj_of_file(storage.partial_location(path), basename(path))
    storage.complete(path, file)
    storage.write_atomic(cdxj_path(path), index)
