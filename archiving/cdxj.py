"""CDXJ indexes of WARCs (cdxj-indexer), and reading them back through the storage."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from archiving.layout import INDEX_DIR, WARC_DIR, basename, cdxj_path, is_cdxj, is_warc, parse_cdxj_line, warc_of_cdxj
from archiving.storage import ArchiveStorage

logger = logging.getLogger(__name__)


def cdxj_of_file(warc: Path, name: str) -> bytes:
    """The sorted CDXJ index of a WARC on this machine, its lines naming the WARC ``name``."""
    buffer = io.StringIO()
    _indexer_class()(buffer, [str(warc)], sort=True, filename=name).process_all()
    return buffer.getvalue().encode("utf-8")


@cache
def _indexer_class() -> type:
    with warnings.catch_warnings():
        # Its AMF support (py3amf) imports pkg_resources, whose deprecation would print in every crawl's log.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from cdxj_indexer.main import CDXJIndexer

    class Indexer(CDXJIndexer):
        # Pinned: importing wacz appends "warcinfo" to CDXJIndexer's own list, which would
        # change our indexes in any process that has also built a WACZ.
        DEFAULT_RECORDS = ["response", "revisit", "resource", "metadata"]

    return Indexer


def index_entries(storage: ArchiveStorage, index: str) -> Iterator[dict[str, Any]]:
    """The JSON blocks of one CDXJ file; lines this indexer does not write are skipped."""
    data = storage.read(index)
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        entry = parse_cdxj_line(line)
        if entry is not None:
            yield entry


def indexed_warcs(storage: ArchiveStorage) -> dict[str, tuple[str, str | None]]:
    """WARC name -> (its path, its CDXJ path or None), for every closed WARC of the archive."""
    indexes = {warc_of_cdxj(e.path): e.path for e in storage.list(INDEX_DIR + "/") if is_cdxj(e.path)}
    return {
        basename(e.path): (e.path, indexes.get(basename(e.path)))
        for e in storage.list(WARC_DIR + "/") if is_warc(e.path)
    }


def index_missing(storage: ArchiveStorage) -> int:
    """Write the CDXJ of every closed WARC that has none (a crash between the two); returns how many."""
    written = 0
    for name, (path, index) in indexed_warcs(storage).items():
        if index is not None:
            continue
        with storage.local_copy(path) as copy:
            storage.write_atomic(cdxj_path(path), cdxj_of_file(copy, name))
        logger.warning("Indexed %s, closed without its index by an earlier crash", storage.describe(path))
        written += 1
    return written
