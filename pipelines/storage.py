"""Archive storage, chosen by the scheme of ARCHIVE_URI.

Every writer goes through this interface, so a new backend (S3 with a local spool)
changes no writer. Paths are relative to the archive root and use ``/``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from scrapy.exceptions import NotConfigured
from scrapy.extensions.feedexport import FileFeedStorage


class ArchiveStorage(Protocol):
    uri: str

    def write_atomic(self, relpath: str, data: bytes) -> None:
        """Write a whole file so that readers see the old content or the new, never a part."""

    def read(self, relpath: str) -> bytes | None:
        """A file's content, or None when it does not exist."""

    def open_partial(self, relpath: str) -> BinaryIO:
        """Open ``relpath + '.open'`` for a file written over time (a WARC)."""

    def complete(self, relpath: str) -> str:
        """Publish a partial file under its final name; returns where it now is."""

    def local_path(self, relpath: str) -> Path:
        """Where a file can be read on this machine (the spool, for remote storage)."""


class LocalStorage:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uri = str(self.root)

    def local_path(self, relpath: str) -> Path:
        return self.root / relpath

    def write_atomic(self, relpath: str, data: bytes) -> None:
        target = self.local_path(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise

    def read(self, relpath: str) -> bytes | None:
        try:
            return self.local_path(relpath).read_bytes()
        except FileNotFoundError:
            return None

    def open_partial(self, relpath: str) -> BinaryIO:
        path = self.local_path(relpath + ".open")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("xb")

    def complete(self, relpath: str) -> str:
        final = self.local_path(relpath)
        os.replace(self.local_path(relpath + ".open"), final)
        return str(final)


def storage_from_uri(uri: str) -> ArchiveStorage:
    scheme = urlsplit(uri).scheme
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        return LocalStorage(urlsplit(uri).path if scheme == "file" else uri)
    if scheme == "s3":
        raise NotConfigured(f"ARCHIVE_URI={uri}: S3 storage is not available in this release; use a local folder")
    raise NotConfigured(f"ARCHIVE_URI={uri}: unsupported scheme {scheme!r} (use a local folder)")


class AtomicFileFeedStorage(FileFeedStorage):
    """Feed storage for local files that appear only when complete (``.open`` while written)."""

    def open(self, spider):  # type: ignore[no-untyped-def]
        final = Path(self.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._final = final
        return open(final.with_name(final.name + ".open"), self.write_mode)

    def store(self, file: BinaryIO) -> None:
        file.close()
        os.replace(self._final.with_name(self._final.name + ".open"), self._final)


def item_feeds(root: Path, spider: str = "*") -> list[Path]:
    """``items/<spider>/<crawl-id>.jsonl`` feeds under an archive root (not their ``.stories.jsonl``)."""
    return sorted(p for p in Path(root).glob(f"items/{spider}/*.jsonl") if not p.name.endswith(".stories.jsonl"))
