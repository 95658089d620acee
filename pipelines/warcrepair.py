"""Repair a WARC left ``.open`` by a crash: keep every complete record, cut a torn tail.

Each record is one gzip member, and a member that decompresses to its end with a good
CRC is a record that was written whole. The file is scanned in bounded memory, cut
after the last complete member, and published under its final name.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CHUNK = 1 << 16


@dataclass(frozen=True)
class Scan:
    records: int  # complete gzip members, one record each
    good_bytes: int  # where the last complete member ends
    total_bytes: int


def scan_members(path: Path) -> Scan:
    """Count complete gzip members from the start of the file, stopping at the first broken one."""
    records = good = consumed = 0
    decompressor = None
    total = path.stat().st_size
    with path.open("rb") as f:
        pending = b""
        while True:
            chunk = pending or f.read(CHUNK)
            pending = b""
            if not chunk:
                break
            if decompressor is None:
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                # Output is discarded: bounded by max_length, the rest stays in unconsumed_tail.
                decompressor.decompress(chunk, CHUNK)
                while decompressor.unconsumed_tail and not decompressor.eof:
                    decompressor.decompress(decompressor.unconsumed_tail, CHUNK)
            except zlib.error:
                break
            if decompressor.eof:
                used = len(chunk) - len(decompressor.unused_data)
                consumed += used
                good = consumed
                records += 1
                pending = decompressor.unused_data
                decompressor = None
            else:
                consumed += len(chunk)
    return Scan(records, good, total)


def repair(path: Path) -> Scan:
    """Cut ``path`` after its last complete record; returns what was found."""
    scan = scan_members(path)
    if scan.good_bytes < scan.total_bytes:
        with path.open("r+b") as f:
            f.truncate(scan.good_bytes)
            f.flush()
            os.fsync(f.fileno())
    return scan
