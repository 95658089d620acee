"""Repair a WARC left partial by a crash: keep every complete record, cut a torn tail.

Each record is one gzip member, and a member that decompresses to its end with a good
CRC is a record that was written whole. The file is scanned in bounded memory and cut
after the last complete member.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 16


@dataclass(frozen=True)
class Scan:
    records: int  # complete gzip members, one record each
    good_bytes: int  # where the last complete member ends
    total_bytes: int


def scan_members(file: BinaryIO) -> Scan:
    """Count complete gzip members from the start of the file, stopping at the first broken one."""
    records = good = consumed = 0
    decompressor = None
    file.seek(0, os.SEEK_END)
    total = file.tell()
    file.seek(0)
    pending = b""
    while True:
        chunk = pending or file.read(CHUNK)
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


def repair(file: BinaryIO) -> Scan:
    """Cut an open (``r+b``) WARC after its last complete record; returns what was found."""
    scan = scan_members(file)
    if scan.good_bytes < scan.total_bytes:
        file.truncate(scan.good_bytes)
        file.flush()
        os.fsync(file.fileno())
    file.seek(0, os.SEEK_END)
    return scan


def truncate_torn_line(file: BinaryIO) -> int:
    """Cut an open (``r+b``) JSONL file after its last complete line; returns the bytes cut."""
    file.seek(0, os.SEEK_END)
    size = end = file.tell()
    while end > 0:
        start = max(0, end - CHUNK)
        file.seek(start)
        block = file.read(end - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end < size:
        file.truncate(end)
        file.flush()
        os.fsync(file.fileno())
    file.seek(0, os.SEEK_END)
    return size - end
