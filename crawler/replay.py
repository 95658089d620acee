"""REPLAY: answer every request from recordings, never from the network.

A recording is a WARC file, a folder of WARCs (searched recursively), a WACZ, a fixture
store (see tests/fixtures/README.md), or an archive named by URI (``s3://bucket/prefix``):
its CDXJ indexes say where each capture is, and each is read by byte range, so the
archive is never downloaded whole. A URL missing from the recording gets a 404 response
flagged ``replay-miss`` and one log line.

A recording that keeps the status line (WARCs, a fixture's ``.headers`` file) replays its
reason phrase and header order to the WARC capture (``crawler.received``); a body recorded
as truncated (``WARC-Truncated``) replays flagged as such, so it is again archived as
truncated and not processed.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlsplit
from weakref import WeakKeyDictionary

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from archiving.cdxj import index_entries, indexed_warcs
from archiving.storage import ArchiveError, ArchiveStorage, storage_class
from crawler.received import TRUNCATED_FLAG, ReceivedHead, remember_head

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

MISS_FLAG = "replay-miss"
CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gz": "application/gzip",
}
# Hop-by-hop and framing headers that no longer describe a replayed body.
FRAMING_HEADERS = (b"Transfer-Encoding", b"Content-Encoding", b"Content-Length")


class Recorded(NamedTuple):
    """A recorded response, its body decoded: no Transfer-Encoding nor Content-Encoding header."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    protocol: str = "HTTP/1.1"
    phrase: str | None = None  # the recorded reason phrase; None when the recording has no status line
    truncated: str | None = None  # the recording's WARC-Truncated reason


class Recording:
    """Where recorded responses come from."""

    def find(self, url: str) -> Recorded | None:
        raise NotImplementedError

    def lookup(self, url: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of the recorded response, or None."""
        found = self.find(url)
        return None if found is None else (found.status, found.headers, found.body)


class FixtureStore(Recording):
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, url: str) -> Path:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        path = unquote(parts.path) or "/"
        if path.endswith("/"):
            path += "_index"
        if parts.query:
            path += "?" + parts.query
        return self.root / host / path.lstrip("/")

    def find(self, url: str) -> Recorded | None:
        path = self.path_for(url)
        if not path.is_file() or path.name.endswith(".headers"):
            return None
        body = path.read_bytes()
        sidecar = path.with_name(path.name + ".headers")
        protocol, phrase = "HTTP/1.1", None
        if sidecar.is_file():
            status_line, *lines = sidecar.read_text(encoding="utf-8").splitlines()
            protocol, code, *rest = status_line.split(" ", 2)
            status, phrase = int(code), (rest[0].strip() if rest else "")
            headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]
        else:
            status, headers = 200, []
        if not any(name.lower() == "content-type" for name, _ in headers):
            suffix = path.suffix.lower()
            guessed = CONTENT_TYPES.get(suffix) or (mimetypes.guess_type(path.name)[0] if suffix in (".css", ".js") else None)
            headers.append(("Content-Type", guessed or "text/html; charset=utf-8"))
        return Recorded(status, headers, body, protocol, phrase)


class WarcRecording(Recording):
    """Responses from WARC files; the last capture of a URL wins."""

    def __init__(self, sources: list[Path]) -> None:
        self.index: dict[str, tuple[Path, str | None, int]] = {}
        for source in sources:
            if source.suffix == ".wacz":
                with zipfile.ZipFile(source) as wacz:
                    for member in wacz.namelist():
                        if member.endswith((".warc", ".warc.gz")):
                            with wacz.open(member) as stream:
                                self._index(stream, source, member)
            else:
                with source.open("rb") as stream:
                    self._index(stream, source, None)
        logger.info("Replaying %d URLs from %d recording file(s)", len(self.index), len(sources))

    def _index(self, stream: IO[bytes], source: Path, member: str | None) -> None:
        records = ArchiveIterator(stream)
        for record in records:
            if record.rec_type == "response" and record.http_headers is not None:
                url = record.rec_headers.get_header("WARC-Target-URI")
                self.index[url] = (source, member, records.offset)

    @contextmanager
    def _open(self, source: Path, member: str | None) -> Iterator[IO[bytes]]:
        if member is None:
            with source.open("rb") as stream:
                yield stream
        else:
            with zipfile.ZipFile(source) as wacz, wacz.open(member) as stream:
                yield stream

    def find(self, url: str) -> Recorded | None:
        location = self.index.get(url)
        if location is None:
            return None
        source, member, offset = location
        with self._open(source, member) as stream:
            stream.seek(offset)
            return recorded_response(next(iter(ArchiveIterator(stream))))


class ArchiveRecording(Recording):
    """Responses from an archive's WARCs, found through its CDXJ indexes and read by byte range.

    The last capture of a URL wins; a revisit is answered with the response it refers to
    (same payload digest).
    """

    def __init__(self, storage: ArchiveStorage) -> None:
        self.storage = storage
        self.index: dict[str, tuple[str, int, int]] = {}
        responses: dict[str, tuple[str, int, int]] = {}  # payload digest -> a response with that payload
        revisits: dict[str, str] = {}  # URL -> payload digest
        for _, (warc, cdxj) in sorted(indexed_warcs(storage).items()):
            for entry in index_entries(storage, cdxj) if cdxj else ():
                if "status" not in entry or "url" not in entry:
                    continue  # requests and metadata: nothing to answer with
                if entry.get("mime") == "warc/revisit":
                    revisits[entry["url"]] = entry.get("digest", "")
                    self.index.pop(entry["url"], None)
                    continue
                location = (warc, int(entry["offset"]), int(entry["length"]))
                self.index[entry["url"]] = location
                revisits.pop(entry["url"], None)
                responses.setdefault(entry.get("digest", ""), location)
        for url, digest in revisits.items():
            if digest in responses:
                self.index[url] = responses[digest]
        logger.info("Replaying %d URLs from %s", len(self.index), storage.describe())

    def find(self, url: str) -> Recorded | None:
        location = self.index.get(url)
        if location is None:
            return None
        member = self.storage.read_range(*location)
        return recorded_response(next(iter(ArchiveIterator(io.BytesIO(member)))))


def recorded_response(record: ArcWarcRecord) -> Recorded:
    http = record.http_headers
    status = int(http.get_statuscode())
    # content_stream() undoes chunking and Content-Encoding, so those headers go; Content-Length
    # stays in its place (the handler sets it to the body's length).
    body = record.content_stream().read()
    headers = [(k, v) for k, v in http.headers if k.encode().title() not in FRAMING_HEADERS[:2]]
    phrase = http.statusline.split(" ", 1)[1] if " " in http.statusline else ""
    return Recorded(status, headers, body, http.protocol or "HTTP/1.1", phrase, record.rec_headers.get_header("WARC-Truncated"))


def open_recording(location: str, settings: BaseSettings | None = None) -> Recording:
    scheme = urlsplit(location).scheme
    if len(scheme) > 1 and scheme != "file":  # an archive by URI: s3://bucket/prefix
        from scrapy.settings import Settings

        settings = settings if settings is not None else Settings()
        try:
            return ArchiveRecording(storage_class(settings, location).from_settings(settings, location))
        except ArchiveError as exc:
            raise NotConfigured(f"REPLAY={location}: {exc}") from exc
    path = Path(urlsplit(location).path if scheme == "file" else location)
    if not path.exists():
        raise NotConfigured(f"REPLAY={location}: no such file or folder")
    if path.is_file():
        return WarcRecording([path])
    warcs = sorted(p for pattern in ("*.warc", "*.warc.gz", "*.wacz") for p in path.rglob(pattern))
    return WarcRecording(warcs) if warcs else FixtureStore(path)


_RECORDINGS: WeakKeyDictionary[Crawler, Recording] = WeakKeyDictionary()


class ReplayDownloadHandler(BaseDownloadHandler):
    """Download handler for http and https when the REPLAY setting is set."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        location = crawler.settings.get("REPLAY")
        if not location:
            raise NotConfigured("REPLAY is not set")
        self.location = location
        # One recording per crawl: the http and https handlers share its index.
        if (recording := _RECORDINGS.get(crawler)) is None:
            recording = _RECORDINGS[crawler] = open_recording(location, crawler.settings)
        self.recording = recording
        self.stats = crawler.stats

    async def download_request(self, request: Request) -> Response:
        found = self.recording.find(request.url)
        if found is None:
            logger.warning("Not in the recording (REPLAY=%s), answering 404: %s", self.location, request.url)
            self.stats.inc_value("replay/miss")
            return Response(request.url, status=404, request=request, flags=[MISS_FLAG])
        status, body = found.status, found.body
        header_list = [(name, value) for name, value in found.headers if name.encode().title() not in FRAMING_HEADERS[:1]]
        headers = Headers()
        for name, value in header_list:
            headers.appendlist(name, value)
        headers[b"Content-Length"] = str(len(body))
        self.stats.inc_value("replay/hit")
        flags = None if found.truncated is None else [TRUNCATED_FLAG if found.truncated == "length" else "dataloss"]
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        response = respcls(url=request.url, status=status, headers=headers, body=body, request=request,
                           protocol=found.protocol, flags=flags)
        if found.phrase is not None:
            # The recorded status line and header order, for the WARC of this crawl.
            remember_head(response, ReceivedHead(found.protocol, str(status), found.phrase, tuple(header_list)))
        return response
