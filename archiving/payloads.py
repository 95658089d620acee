"""Which payloads an archive already holds, so that a repeated one is written as a revisit.

The index is read from the archive's CDXJ files when a crawl starts and is shared by every
crawl of the process (``make demo`` runs all spiders at once): an article fetched by two
spiders, or by yesterday's crawl and today's, is stored once, and later captures are
``revisit`` records that point at it (identical-payload-digest profile).

An original is trusted only once its record has been read back: on the first revisit of a
payload, its WARC member is read at the CDXJ offset and must be a 200 response with that
digest. A pruned WARC or a stale index line therefore costs a full copy, never a revisit
that points nowhere. Captures of replayed recordings (``REPLAY``) and of the live web are
kept apart: a live page is never stored as a revisit of a fixture.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace

from warcio.archiveiterator import ArchiveIterator

from archiving.cdxj import index_entries, indexed_warcs
from archiving.layout import REPLAYED_MARK, parse_warc_fields
from archiving.storage import ArchiveStorage
from archiving.warcfile import Original

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capture:
    """Where a payload was first archived, for revisit records."""

    uri: str
    date: str  # the original's WARC-Date
    record_id: str | None = None  # known once the record is written or read back
    location: tuple[str, int, int] | None = None  # (WARC path, offset, length) of an indexed, unverified capture

    def original(self) -> Original:
        return Original(self.uri, self.date, self.record_id)


class PayloadIndex:
    """payload digest -> first capture of a 200 response with that payload."""

    def __init__(self, storage: ArchiveStorage, replayed: bool = False) -> None:
        self.storage = storage
        self.replayed = replayed
        self.missing = 0  # index entries whose record could not be read back
        self._captures: dict[str, Capture] = {}
        self._indexed: set[str] = set()  # CDXJ files already read

    def __len__(self) -> int:
        return len(self._captures)

    def original(self, digest: str) -> Capture | None:
        capture = self._captures.get(digest)
        if capture is None or capture.location is None:
            return capture
        verified = _read_back(self.storage, capture, digest)
        if verified is None:
            self.missing += 1
            logger.warning("Index names %s at %s offset %d, but no such response is there: archiving it in full",
                           capture.uri, self.storage.describe(capture.location[0]), capture.location[1])
            del self._captures[digest]
        else:
            self._captures[digest] = verified
        return verified

    def add(self, digest: str, capture: Capture) -> None:
        self._captures.setdefault(digest, capture)

    def load(self) -> None:
        """Read the CDXJ files not read yet, of closed WARCs of our kind (live or replayed)."""
        for name, (warc, index) in sorted(indexed_warcs(self.storage).items()):
            if index is None or index in self._indexed:
                continue
            self._indexed.add(index)
            if _is_replayed(self.storage, warc) is not self.replayed:  # None: unreadable, nobody's original
                continue
            try:
                for entry in index_entries(self.storage, index):
                    self._load_entry(entry, warc)
            except Exception as exc:  # noqa: BLE001 - an unreadable index only costs full copies
                logger.warning("Skipping the rest of %s: %s", self.storage.describe(index), exc)

    def _load_entry(self, entry: dict, warc: str) -> None:
        try:
            if entry["status"] != "200" or entry["mime"] == "warc/revisit":
                return
            location = (warc, int(entry["offset"]), int(entry["length"]))
            self.add(entry["digest"], Capture(entry["url"], "", location=location))
        except (ValueError, KeyError, TypeError):
            return  # a line this project's indexer does not write: no revisit against it


def _read_back(storage: ArchiveStorage, capture: Capture, digest: str) -> Capture | None:
    """The capture with its record id and exact date, if its record is the 200 response it should be."""
    path, offset, length = capture.location  # type: ignore[misc]
    try:
        member = storage.read_range(path, offset, length)
        record = next(iter(ArchiveIterator(io.BytesIO(member))), None)
    except Exception:  # noqa: BLE001 - a missing or damaged original is just not an original
        return None
    if (
        record is None
        or record.rec_type != "response"
        or record.rec_headers.get_header("WARC-Payload-Digest") != digest
        or record.rec_headers.get_header("WARC-Target-URI") != capture.uri
        or record.http_headers is None
        or record.http_headers.get_statuscode() != "200"
    ):
        return None
    return replace(capture, date=record.rec_headers.get_header("WARC-Date"),
                   record_id=record.rec_headers.get_header("WARC-Record-ID"), location=None)


def warcinfo(storage: ArchiveStorage, warc: str) -> dict[str, str] | None:
    """The fields of a WARC's warcinfo record ({} without one); None when it cannot be read."""
    try:
        with storage.open_read(warc) as stream:
            record = next(iter(ArchiveIterator(stream)), None)
            if record is None or record.rec_type != "warcinfo":
                return {}
            return parse_warc_fields(record.content_stream().read())
    except Exception:  # noqa: BLE001
        return None


def _is_replayed(storage: ArchiveStorage, warc: str) -> bool | None:
    """Whether the WARC's warcinfo says it was replayed; None when it cannot be read."""
    fields = warcinfo(storage, warc)
    return None if fields is None else fields.get("description", "").startswith(REPLAYED_MARK)


_SHARED: dict[tuple[str, bool], PayloadIndex] = {}


def shared_index(storage: ArchiveStorage, replayed: bool) -> PayloadIndex:
    """The one index of this archive (live or replayed captures) in this process."""
    key = (storage.describe(), replayed)
    index = _SHARED.get(key)
    if index is None:
        index = _SHARED[key] = PayloadIndex(storage, replayed)
    return index
