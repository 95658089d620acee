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
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

logger = logging.getLogger(__name__)

REPLAYED_MARK = "Replayed from the recording"  # how a WARC's warcinfo description starts under REPLAY


@dataclass(frozen=True)
class Capture:
    """Where a payload was first archived, for revisit records."""

    uri: str
    date: str  # the original's WARC-Date
    record_id: str | None = None  # known once the record is written or read back
    location: tuple[Path, int, int] | None = None  # (WARC, offset, length) of an indexed, unverified capture


class PayloadIndex:
    """payload digest -> first capture of a 200 response with that payload."""

    def __init__(self, replayed: bool = False) -> None:
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
        verified = _read_back(capture, digest)
        if verified is None:
            self.missing += 1
            logger.warning("Index names %s at %s offset %d, but no such response is there: archiving it in full",
                           capture.uri, capture.location[0], capture.location[1])
            del self._captures[digest]
        else:
            self._captures[digest] = verified
        return verified

    def add(self, digest: str, capture: Capture) -> None:
        self._captures.setdefault(digest, capture)

    def load(self, indexes: Path, warcs: Path) -> None:
        """Read the CDXJ files not read yet, for WARCs present under ``warcs`` of our kind (live or replayed)."""
        present = {path.name: path for path in warcs.glob("*/*.warc.gz")}
        for index in sorted(indexes.glob("*.cdxj")):
            warc = present.get(index.name.removesuffix(".cdxj") + ".warc.gz")
            if index.name in self._indexed or warc is None:
                continue
            self._indexed.add(index.name)
            if _is_replayed(warc) is not self.replayed:  # None: unreadable, nobody's original
                continue
            try:
                with index.open(encoding="utf-8") as lines:
                    for line in lines:
                        self._load_line(line, warc)
            except (OSError, UnicodeDecodeError) as exc:
                logger.warning("Skipping the rest of %s: %s", index, exc)

    def _load_line(self, line: str, warc: Path) -> None:
        try:
            _, _, fields = line.split(" ", 2)
            entry = json.loads(fields)
            if entry["status"] != "200" or entry["mime"] == "warc/revisit":
                return
            location = (warc, int(entry["offset"]), int(entry["length"]))
            self.add(entry["digest"], Capture(entry["url"], "", location=location))
        except (ValueError, KeyError, TypeError):
            return  # a line this project's indexer does not write: no revisit against it


def _read_back(capture: Capture, digest: str) -> Capture | None:
    """The capture with its record id and exact date, if its record is the 200 response it should be."""
    path, offset, length = capture.location  # type: ignore[misc]
    try:
        with path.open("rb") as f:
            f.seek(offset)
            member = f.read(length)
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


def _is_replayed(warc: Path) -> bool | None:
    """Whether the WARC's warcinfo says it was replayed; None when it cannot be read."""
    try:
        with warc.open("rb") as f:
            record = next(iter(ArchiveIterator(f)), None)
            if record is None or record.rec_type != "warcinfo":
                return False
            return f"description: {REPLAYED_MARK}" in record.content_stream().read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001
        return None


_SHARED: dict[tuple[str, bool], PayloadIndex] = {}


def shared_index(archive_root: Path, replayed: bool) -> PayloadIndex:
    """The one index of this archive (live or replayed captures) in this process."""
    return _SHARED.setdefault((str(archive_root.resolve()), replayed), PayloadIndex(replayed))
