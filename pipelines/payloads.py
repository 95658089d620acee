"""Which payloads an archive already holds, so that a repeated one is written as a revisit.

The index is read from the archive's CDXJ files when a crawl starts and is shared by every
crawl of the process (``make demo`` runs all spiders at once): an article fetched by two
spiders, or by yesterday's crawl and today's, is stored once, and later captures are
``revisit`` records that point at it (identical-payload-digest profile).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capture:
    """Where a payload was first archived, for revisit records."""

    uri: str
    date: str  # WARC-Date form
    record_id: str | None = None  # known for this process's captures only: CDXJ does not keep it


class PayloadIndex:
    """payload digest -> first capture of a 200 response with that payload."""

    def __init__(self) -> None:
        self._captures: dict[str, Capture] = {}
        self._indexed: set[str] = set()  # CDXJ files already read

    def original(self, digest: str) -> Capture | None:
        return self._captures.get(digest)

    def add(self, digest: str, capture: Capture) -> None:
        self._captures.setdefault(digest, capture)

    def load(self, indexes: Path) -> int:
        """Read the CDXJ files not read yet; returns how many payloads they added."""
        before = len(self._captures)
        for path in sorted(indexes.glob("*.cdxj")):
            if path.name in self._indexed:
                continue
            self._indexed.add(path.name)
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    self._load_line(line, path)
        return len(self._captures) - before

    def _load_line(self, line: str, path: Path) -> None:
        try:
            _, timestamp, fields = line.split(" ", 2)
            entry = json.loads(fields)
        except ValueError:
            logger.warning("Skipping an unreadable line of %s", path)
            return
        if entry.get("status") != "200" or entry.get("mime") == "warc/revisit" or not entry.get("digest"):
            return
        self.add(entry["digest"], Capture(entry["url"], _warc_date(timestamp)))


def _warc_date(timestamp: str) -> str:
    t = timestamp
    return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"


_SHARED: dict[str, PayloadIndex] = {}


def shared_index(archive_root: Path) -> PayloadIndex:
    """The one index of this archive in this process."""
    return _SHARED.setdefault(str(archive_root.resolve()), PayloadIndex())
