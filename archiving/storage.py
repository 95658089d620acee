"""Archive storage: every read and write of the archive goes through one ``ArchiveStorage``.

A backend is chosen by the scheme of ``ARCHIVE_URI`` from the ``ARCHIVE_STORAGES`` registry
(in the manner of Scrapy's ``FEED_STORAGES``): a local folder by default, S3 for ``s3://``.
A crawl builds its storage once (``crawl_storage``) and every component shares it.

Paths are relative to the archive root and use ``/``. Files written over time (WARCs, the
items feed) are *partial* until completed: a local file ``<path>.open``, locked while its
writer lives, so a crash leaves a file that the next start can tell from a live one.
Local storage keeps partials in the archive itself; remote storage keeps them, and the
completed files it could not upload yet, in a local spool.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

from archiving.layout import PARTIAL_SUFFIX

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

    from archiving.lock import CrawlLock

logger = logging.getLogger(__name__)

STORAGES_BASE = {
    "": "archiving.storage.LocalStorage",
    "file": "archiving.storage.LocalStorage",
    "s3": "archiving.s3.S3Storage",
}
TEMP_PREFIX = "."  # temporary files of atomic writes are hidden and never listed
TEMP_SUFFIX = ".tmp"
LOCKS_DIR = ".locks"  # hidden, never listed: crawl locks, and the spool's write locks


class ArchiveError(Exception):
    """The archive cannot be used; the message names the location, never a credential."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be opened for writing before the crawl starts."""


class ArchiveWriteError(ArchiveError):
    """A write to the archive failed; the file is left whole (or as a partial to recover)."""


class ArchiveReadError(ArchiveError):
    """A file or a listing of the archive could not be read."""


@dataclass(frozen=True)
class Entry:
    path: str
    size: int


class ArchiveStorage(ABC):
    """One archive: complete files to list and read, atomic writes, and partial files."""

    uri: str
    partial_root: Path  # the local folder holding partial files (the archive or the spool)

    @classmethod
    def from_settings(cls, settings: BaseSettings, uri: str) -> Self:
        return cls(uri)  # type: ignore[call-arg]

    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str) -> Self:
        return cls.from_settings(crawler.settings, uri)

    # -- complete files ------------------------------------------------------------------------

    @abstractmethod
    def list(self, prefix: str) -> list[Entry]:
        """Complete files whose path starts with ``prefix``, sorted by path (no partials, no temporaries)."""

    @abstractmethod
    def read(self, path: str) -> bytes | None:
        """A file's content, or None when it does not exist."""

    @abstractmethod
    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (a WARC record at its CDXJ offset)."""

    @abstractmethod
    def open_read(self, path: str) -> BinaryIO:
        """A file as a stream, read as it is consumed."""

    @abstractmethod
    def write_atomic(self, path: str, data: bytes | Path) -> None:
        """Write a whole file so that readers see the old content or the new, never a part.

        ``data`` is the content, or a local file that holds it (copied as a stream: a large
        file is never held in memory)."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Remove a complete file; a missing one is not an error."""

    def size(self, path: str) -> int | None:
        entries = [e for e in self.list(path) if e.path == path]
        return entries[0].size if entries else None

    def exists(self, path: str) -> bool:
        return self.size(path) is not None

    @contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        """A complete file as a file on this machine, for tools that want a path (indexers, wacz)."""
        self.partial_root.mkdir(parents=True, exist_ok=True)
        # A temporary file like an atomic write's: locked while used, removed by recovery if a crash leaves it.
        with tempfile.NamedTemporaryFile(prefix=f"{TEMP_PREFIX}copy-", suffix=TEMP_SUFFIX, dir=self.partial_root) as copy:
            fcntl.flock(copy.fileno(), fcntl.LOCK_EX)
            with self.open_read(path) as source:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            copy.flush()
            yield Path(copy.name)

    @abstractmethod
    def check_writable(self) -> None:
        """Raise ArchiveUnavailable, with one readable line, unless a file can be written and removed."""

    def describe(self, path: str = "") -> str:
        """Where a file is, for log lines."""
        return f"{self.uri.rstrip('/')}/{path}" if path else self.uri

    # -- partial files -------------------------------------------------------------------------

    def partial_location(self, path: str) -> Path:
        return self.partial_root / (path + PARTIAL_SUFFIX)

    def open_partial(self, path: str) -> BinaryIO:
        """Create ``path`` as a partial file, locked for as long as it stays open.

        Unbuffered: every write reaches the file or fails at once, so nothing is left to
        flush (and fail again) after an error.
        """
        location = self.partial_location(path)
        try:
            location.parent.mkdir(parents=True, exist_ok=True)
            file = location.open("x+b", buffering=0)
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not _still_named(location, file):  # taken for a crash's leftover before we locked it
                file.close()
                return self.open_partial(path)
        except OSError as exc:
            raise ArchiveWriteError(f"cannot create {self.describe(path)}{PARTIAL_SUFFIX}: {reason(exc)}") from exc
        return file

    def stale_partials(self, prefix: str) -> Iterator[tuple[str, BinaryIO]]:
        """Partial files under ``prefix`` that no live process holds, each opened and locked (``r+b``).

        A crashed writer's lock died with it; a live writer's file is skipped.
        """
        root = self.partial_root / prefix
        if not root.is_dir():
            return
        for location in sorted(root.rglob("*" + PARTIAL_SUFFIX)):
            try:
                file = location.open("r+b")
            except FileNotFoundError:
                continue  # completed meanwhile
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                continue
            if not _still_named(location, file):  # completed or replaced between open and lock
                file.close()
                continue
            yield location.relative_to(self.partial_root).as_posix().removesuffix(PARTIAL_SUFFIX), file

    def remove_stale_temporaries(self) -> int:
        """Remove the temporary files of atomic writes that crashed (no live writer holds them)."""
        removed = 0
        for dirpath, _, filenames in os.walk(self.partial_root):
            for name in filenames:
                if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                    removed += _remove_if_unheld(Path(dirpath) / name)
        return removed

    def complete(self, path: str, file: BinaryIO) -> None:
        """Publish a partial file under its final name (and, remote, upload it); closes ``file``."""
        try:
            file.flush()
            os.fsync(file.fileno())
            self._publish(path, file)
        except OSError as exc:
            raise ArchiveWriteError(f"cannot complete {self.describe(path)}: {reason(exc)}") from exc
        finally:
            file.close()

    def write_file(self, path: str, source: Path) -> None:
        """Store a local file under ``path``, streamed (a large file is never held in memory)."""
        file = self.open_partial(path)
        try:
            with source.open("rb") as f:
                while chunk := f.read(1 << 20):
                    file.write(chunk)
        except BaseException:
            self.discard_partial(path, file)
            raise
        self.complete(path, file)

    def discard_partial(self, path: str, file: BinaryIO) -> None:
        self.partial_location(path).unlink(missing_ok=True)
        file.close()

    @abstractmethod
    def _publish(self, path: str, file: BinaryIO) -> None:
        """Move the flushed partial file of ``path`` (open as ``file``, still locked) to its final place."""

    # -- one crawl at a time -------------------------------------------------------------------

    def crawl_lock(self, spider: str, on_lost: Callable[[str], None] | None = None, crawl: str | None = None) -> CrawlLock:
        """Hold the archive for one crawl of ``spider``, or raise ArchiveLocked (archiving.lock).

        ``crawl`` names a distributed crawl: its workers share the hold.
        """
        from archiving.lock import FileLock, SharedFileLock

        what = f"{self.describe()} for spider {spider}"
        if crawl is not None:
            return SharedFileLock(self.partial_root / LOCKS_DIR, spider, crawl, what)
        return FileLock(self.partial_root / LOCKS_DIR / f".crawl-{spider}.lock", what)

    # -- remote backends -----------------------------------------------------------------------

    def pending(self) -> list[str]:
        """Complete files not in the store yet (remote backends: left in the spool)."""
        return []

    def sync(self) -> SyncReport:
        """Upload every pending file; a local archive has none."""
        return SyncReport()

    def close(self) -> None:
        """Release connections."""


@dataclass
class SyncReport:
    uploaded: int = 0
    failed: int = 0
    bytes: int = 0
    aborted_uploads: int = 0


class LocalStorage(ArchiveStorage):
    """A folder on this machine (``ARCHIVE_URI=archive`` or ``file:///data/archive``)."""

    def __init__(self, uri: str | os.PathLike[str]) -> None:
        uri = os.fspath(uri)
        parts = urlsplit(uri)
        self.uri = uri
        self.root = Path(parts.path if parts.scheme == "file" else uri)
        self.partial_root = self.root

    def location(self, path: str) -> Path:
        return self.root / path

    def describe(self, path: str = "") -> str:
        return str((self.root / path).absolute())

    def list(self, prefix: str) -> list[Entry]:
        base, _, _ = prefix.rpartition("/")
        top = self.root / base
        if not top.is_dir():
            return []
        entries = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith(TEMP_PREFIX)]  # .locks
            for filename in filenames:
                if filename.startswith(TEMP_PREFIX) or filename.endswith(PARTIAL_SUFFIX):
                    continue
                full = Path(dirpath) / filename
                path = full.relative_to(self.root).as_posix()
                if path.startswith(prefix):
                    try:
                        entries.append(Entry(path, full.stat().st_size))
                    except FileNotFoundError:
                        continue
        return sorted(entries, key=lambda e: e.path)

    def read(self, path: str) -> bytes | None:
        try:
            return self.location(path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with self.location(path).open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def open_read(self, path: str) -> BinaryIO:
        return self.location(path).open("rb")

    @contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        yield self.location(path)

    def size(self, path: str) -> int | None:
        try:
            return self.location(path).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_atomic(self, path: str, data: bytes | Path) -> None:
        try:
            write_file_atomic(self.location(path), data)
        except OSError as exc:
            raise ArchiveWriteError(f"cannot write {self.describe(path)}: {reason(exc)}") from exc

    def delete(self, path: str) -> None:
        self.location(path).unlink(missing_ok=True)

    def check_writable(self) -> None:
        try:
            probe_folder(self.root)
        except OSError as exc:
            raise ArchiveUnavailable(f"ARCHIVE_URI={self.uri} is not writable: {reason(exc)}") from exc

    def _publish(self, path: str, file: BinaryIO) -> None:
        os.replace(self.partial_location(path), self.location(path))


def probe_name() -> str:
    """A hidden name no other process uses: never listed, removed at once."""
    return f"{TEMP_PREFIX}probe-{socket.gethostname()}-{os.getpid()}"


def probe_folder(root: Path) -> None:
    """Create ``root`` and write and remove a file in it; OSError says why it cannot be."""
    root.mkdir(parents=True, exist_ok=True)
    write_file_atomic(root / probe_name(), b"probe\n")
    (root / probe_name()).unlink()


# The process's umask, read once at import (reading it means setting it): mkstemp makes files
# private (0600), and an archive is read by other users (replay, browse, backups).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_file_atomic(target: Path, data: bytes | Path) -> None:
    """Temporary file beside the target, fsync, rename: the old content or the new, never a part.

    ``data``: the bytes, or a file to copy them from as a stream."""
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed: a crash's leftover is one nobody holds
        if _same_file(tmp, fd):
            os.fchmod(fd, 0o666 & ~_UMASK)
            break
        os.close(fd)  # removed as a leftover before we locked it: take another name
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, Path):
                with data.open("rb") as source:
                    shutil.copyfileobj(source, f, 1 << 20)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _same_file(path: str | Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _still_named(location: Path, file: BinaryIO) -> bool:
    return _same_file(location, file.fileno())


def _remove_if_unheld(path: Path) -> int:
    try:
        with path.open("rb") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
            return 1
    except (BlockingIOError, FileNotFoundError):
        return 0


def reason(exc: BaseException) -> str:
    """One line for an error: the OS's words for OSError, else the exception's."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {exc}"


# -- choosing and sharing a backend ------------------------------------------------------------


def storage_class(settings: BaseSettings, uri: str) -> type[ArchiveStorage]:
    from scrapy.utils.misc import load_object

    parts = urlsplit(uri)
    scheme = parts.scheme
    if parts.username or parts.password:
        safe = f"{scheme}://{parts.hostname or ''}{parts.path}"
        raise ArchiveUnavailable(f"{safe}: credentials do not belong in the archive URI; "
                                 "give them in the environment, an AWS profile or an instance role")
    registry = {**(settings.getdict("ARCHIVE_STORAGES_BASE") or STORAGES_BASE), **settings.getdict("ARCHIVE_STORAGES")}
    path = registry.get(scheme)
    if not path:
        known = ", ".join(f"{s}://" for s in sorted(registry) if s)
        raise ArchiveUnavailable(f"ARCHIVE_URI={uri}: unsupported scheme {scheme!r} (a folder, or one of {known})")
    return load_object(path)


def open_archive(settings: BaseSettings) -> ArchiveStorage:
    """The archive at ``ARCHIVE_URI`` for a command that is not a crawl (``scrapy wacz``, the demo)."""
    uri = str(settings.get("ARCHIVE_URI") or "archive")
    return storage_class(settings, uri).from_settings(settings, uri)
