"""One crawl per archive and spider at a time.

A local archive is locked with ``flock`` on a hidden file in it (``.locks/.crawl-<spider>.lock``):
the kernel releases it when the crawl's process ends, however it ends. An S3 archive is locked
with a lease object (``locks/<spider>.lease``) created only if absent (``If-None-Match: *``),
renewed while the crawl runs, and taken over once expired: a killed crawl blocks the next one
for at most ``S3_LOCK_LEASE`` seconds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from archiving.storage import ArchiveError, ArchiveUnavailable, reason

if TYPE_CHECKING:
    from typing_extensions import Self

    from archiving.s3 import S3Storage

logger = logging.getLogger(__name__)

class ArchiveLocked(ArchiveError):
    """Another crawl of this spider holds the archive."""


class CrawlLock:
    def release(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class FileLock(CrawlLock):
    def __init__(self, path: Path, what: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: BinaryIO | None = path.open("a+b")
        except OSError as exc:
            raise ArchiveUnavailable(f"cannot lock {what}: {reason(exc)}") from exc
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            raise ArchiveLocked(f"another crawl holds {what}") from None
        # For the operator who wonders which crawl it is.
        self._file.truncate(0)
        self._file.write(f"{socket.gethostname()} {os.getpid()}\n".encode())
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class LeaseLock(CrawlLock):
    """A lease on an S3 object, renewed by a daemon thread every third of its length."""

    def __init__(self, storage: S3Storage, path: str, lease: float, what: str, on_lost: Callable[[str], None]) -> None:
        self.storage, self.client, self.key = storage, storage.client, storage.key(path)
        self.lease, self.what, self.on_lost = lease, what, on_lost
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self.etag = self._take()
        except ArchiveLocked:
            raise
        except Exception as exc:
            from archiving.s3 import access_reason

            raise ArchiveUnavailable(f"cannot lock {what}: {access_reason(exc, storage.bucket)}") from exc
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="archive-lease", daemon=True)
        self._thread.start()

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                           "expires": time.time() + self.lease}).encode()

    def _take(self) -> str:
        try:
            return self.client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(), IfNoneMatch="*")["ETag"]
        except self.client.exceptions.ClientError as exc:
            if _code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
        held = self.client.get_object(Bucket=self.storage.bucket, Key=self.key)
        holder: dict[str, Any] = json.loads(held["Body"].read() or b"{}")
        if holder.get("expires", 0) > time.time() and not _dead_here(holder):
            raise ArchiveLocked(f"another crawl holds {self.what} (lease of {holder.get('owner', '?')}, "
                                f"until {time.strftime('%H:%M:%S', time.gmtime(holder['expires']))} UTC)")
        try:  # an expired lease: take it over, unless another crawl just did
            return self.client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(), IfMatch=held["ETag"])["ETag"]
        except self.client.exceptions.ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ArchiveLocked(f"another crawl holds {self.what}") from None
            raise

    def _renew(self) -> None:
        """Renew every third of the lease; keep trying while it lasts, then report it lost."""
        held_until = time.time() + self.lease
        while not self._stop.wait(self.lease / 3):
            while True:
                try:
                    self.etag = self.client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(),
                                                       IfMatch=self.etag)["ETag"]
                    held_until = time.time() + self.lease
                    break
                except Exception as exc:  # noqa: BLE001 - reported through on_lost, not raised in a thread
                    taken = _code(exc) in ("PreconditionFailed", "412")  # another crawl holds it now
                    if taken or time.time() + min(5, self.lease / 10) >= held_until:
                        self.on_lost(f"the lease on {self.what} was lost: {reason(exc)}")
                        return
                    if self._stop.wait(min(5, self.lease / 10)):
                        return

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(5)
        try:
            self.client.delete_object(Bucket=self.storage.bucket, Key=self.key, IfMatch=self.etag)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            logger.warning("Could not release the lease on %s (it expires by itself): %s", self.what, reason(exc))


def _dead_here(holder: dict[str, Any]) -> bool:
    """The holder ran on this machine and its process is gone (killed): no need to wait for the lease."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
