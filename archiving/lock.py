"""One crawl per archive and spider at a time.

A local archive is locked with ``flock`` on a hidden file in it (``.locks/.crawl-<spider>.lock``):
the kernel releases it when the crawl's process ends, however it ends. An S3 archive is locked
with a lease object (``locks/<spider>.lease``) created only if absent (``If-None-Match: *``),
renewed while the crawl runs, and taken over once expired: a killed crawl blocks the next one
for at most ``S3_LOCK_LEASE`` seconds.

A distributed crawl is one crawl, whatever its number of workers (docs/distributed.md). Each
worker names the crawl (its Redis server and keys): locally it holds the spider's lock *shared*
and a member file of its crawl; on S3 the lease names the crawl and every worker renews it.
Workers of the same crawl get in; a single crawl, or another distributed crawl, is refused.
"""

from __future__ import annotations

import fcntl
import hashlib
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


class SharedFileLock(CrawlLock):
    """A worker's hold on a local archive for its distributed crawl (module docstring).

    Under a short exclusive gate: the spider's lock is taken shared (refused while a single crawl
    holds it), then this crawl's member file shared; a member file of another crawl that some
    process still holds refuses the worker, one nobody holds is stale and removed.
    """

    def __init__(self, folder: Path, spider: str, crawl: str, what: str) -> None:
        self._files: list[BinaryIO] = []
        member = folder / f".crawl-{spider}.{hashlib.sha256(crawl.encode()).hexdigest()[:16]}.member"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            gate = (folder / f".crawl-{spider}.gate").open("a+b")
        except OSError as exc:
            raise ArchiveUnavailable(f"cannot lock {what}: {reason(exc)}") from exc
        try:
            fcntl.flock(gate.fileno(), fcntl.LOCK_EX)
            self._hold(folder / f".crawl-{spider}.lock", f"a crawl that is not this distributed one holds {what}")
            self._hold(member, f"cannot lock {what}")
            if self._files[-1].seek(0, os.SEEK_END) == 0:
                self._files[-1].write(f"{crawl}\n".encode())
                self._files[-1].flush()
            for other in sorted(folder.glob(f".crawl-{spider}.*.member")):
                if other != member:
                    self._refuse_if_held(other, what)
        except BaseException:
            self.release()
            raise
        finally:
            gate.close()

    def _hold(self, path: Path, refusal: str) -> None:
        file = path.open("a+b")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise ArchiveLocked(refusal) from None
        self._files.append(file)

    @staticmethod
    def _refuse_if_held(path: Path, what: str) -> None:
        with path.open("r+b") as file:  # NFS grants LOCK_EX only on a file open for writing
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                crawl = file.read(500).decode("utf-8", "replace").strip() or "?"
                raise ArchiveLocked(f"another distributed crawl ({crawl}) holds {what}") from None
            path.unlink(missing_ok=True)  # its workers are all gone

    def release(self) -> None:
        while self._files:
            self._files.pop().close()


class LeaseLock(CrawlLock):
    """A lease on an S3 object, renewed by a daemon thread every third of its length.

    With ``crawl`` (a distributed crawl), the lease names the crawl: every worker of that crawl
    joins and renews it, and it is deleted by the last (``final``) or expires.
    """


    def __init__(self, storage: S3Storage, path: str, lease: float, what: str, on_lost: Callable[[str], None],
                 crawl: str | None = None) -> None:
        self.storage, self.client, self.key = storage, storage.client, storage.key(path)
        self.lease, self.what, self.on_lost, self.crawl = lease, what, on_lost, crawl
        # release() deletes the lease: a single crawl's always; a distributed crawl's only when this
        # worker is known to be its last (crawler/commands/crawl.py), else it expires.
        self.final = crawl is None
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
                           "expires": time.time() + self.lease, "crawl": self.crawl}).encode()

    def _take(self) -> str:
        try:
            return self.client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(), IfNoneMatch="*")["ETag"]
        except self.client.exceptions.ClientError as exc:
            if _code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
        held = self.client.get_object(Bucket=self.storage.bucket, Key=self.key)
        holder: dict[str, Any] = json.loads(held["Body"].read() or b"{}")
        if self.crawl is not None and holder.get("crawl") == self.crawl:
            return self._join(held["ETag"])
        # A shared lease names its last renewer only: that one's death says nothing of the other workers.
        if holder.get("expires", 0) > time.time() and (holder.get("crawl") is not None or not _dead_here(holder)):
            raise ArchiveLocked(f"another crawl holds {self.what} (lease of {holder.get('owner', '?')}, "
                                f"until {time.strftime('%H:%M:%S', time.gmtime(holder['expires']))} UTC)")
        try:  # an expired lease: take it over, unless another crawl just did
            return self.client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(), IfMatch=held["ETag"])["ETag"]
        except self.client.exceptions.ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ArchiveLocked(f"another crawl holds {self.what}") from None
            raise

    def _join(self, etag: str) -> str:
        """The lease of this worker's own distributed crawl: renewed now, held together."""
        try:
            return self.client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(), IfMatch=etag)["ETag"]
        except self.client.exceptions.ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return self._take()  # another worker renewed it (or another crawl took it) meanwhile
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
                    gone = _code(exc) in ("NoSuchKey", "404")  # a worker of this crawl deleted it
                    if (taken or gone) and self.crawl is not None:
                        try:  # a worker of the same crawl renewed it: join again
                            self.etag = self._take()
                            held_until = time.time() + self.lease
                            break
                        except Exception as again:  # noqa: BLE001
                            exc = again
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
        if not self.final:
            return  # other workers of the distributed crawl hold it still
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
