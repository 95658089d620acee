"""S3 storage (``ARCHIVE_URI=s3://bucket/prefix``): the local layout, key for key, under the prefix.

Every file is first written to a local spool (``SPOOL_DIR``), then uploaded with a checksum
(Content-MD5 and ``x-amz-checksum-sha256``, which S3 verifies on receipt), then checked
(size and ETag from HEAD), and only then removed from the spool. WARCs are written in the
spool as partial files and uploaded when closed, multipart above ``S3_MULTIPART_THRESHOLD``.
A file that cannot be uploaded stays in the spool and is uploaded by the next crawl's start
or by ``scrapy archive-sync``; so a crawl killed at any moment loses nothing, and a retried
upload rewrites the same key with the same bytes, never a second name.

Credentials come from boto3's standard chain only (environment, ``AWS_PROFILE`` and the
shared config files, instance or container role): never from Scrapy settings, which Scrapy
prints at start. Retries (5xx, ``SlowDown``, throttling, resets, timeouts) are botocore's
retry modes.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from archiving.layout import INDEX_DIR, PARTIAL_SUFFIX, WARC_DIR, basename, is_archive_path, is_cdxj, warc_of_cdxj
from archiving.storage import (
    LOCKS_DIR,
    TEMP_PREFIX,
    ArchiveReadError,
    ArchiveStorage,
    ArchiveUnavailable,
    ArchiveWriteError,
    Entry,
    SyncReport,
    probe_folder,
    probe_name,
    reason,
    write_file_atomic,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

    from archiving.lock import CrawlLock

logger = logging.getLogger(__name__)

MIB = 1 << 20
DEFAULTS = {
    "S3_MULTIPART_THRESHOLD": 16 * MIB,  # files from this size are uploaded in parts
    "S3_PART_SIZE": 16 * MIB,  # S3 wants at least 5 MiB per part but the last
    "S3_STORAGE_CLASS": None,  # STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, ...
    "S3_SSE": None,  # AES256 (SSE-S3) or aws:kms (SSE-KMS)
    "S3_SSE_KMS_KEY_ID": None,
    "S3_MAX_ATTEMPTS": 10,  # botocore's attempts per request, first one included
    "S3_RETRY_MODE": "standard",  # or adaptive (client-side rate limiting as well)
    "S3_CONNECT_TIMEOUT": 10,
    "S3_READ_TIMEOUT": 60,
    "S3_ABORT_UPLOADS_AFTER": 24 * 3600,  # seconds: an unfinished multipart upload this old is abandoned
    "S3_LOCK_LEASE": 300,  # seconds: the crawl lock's lease, renewed every third of it
}


LOCK_STRIPES = 256  # spool locks: a fixed set of files, shared by paths that hash alike


def default_spool() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "news-archiver" / "spool"


class S3Storage(ArchiveStorage):
    def __init__(
        self, uri: str, client: Any, spool: Path, *, multipart_threshold: int = DEFAULTS["S3_MULTIPART_THRESHOLD"],
        part_size: int = DEFAULTS["S3_PART_SIZE"], put_args: dict[str, str] | None = None,
        abort_uploads_after: float = DEFAULTS["S3_ABORT_UPLOADS_AFTER"], lock_lease: float = DEFAULTS["S3_LOCK_LEASE"],
    ) -> None:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise ArchiveUnavailable(f"ARCHIVE_URI={uri}: an S3 archive is s3://bucket or s3://bucket/prefix")
        self.uri = uri
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.client = client
        self.partial_root = spool / self.bucket / self.prefix if self.prefix else spool / self.bucket
        self.multipart_threshold = max(multipart_threshold, 5 * MIB)
        self.part_size = max(part_size, 5 * MIB)
        self.put_args = put_args or {}
        self.abort_uploads_after = abort_uploads_after
        self.lock_lease = lock_lease
        self.kms = self.put_args.get("ServerSideEncryption") == "aws:kms"  # ETags are then not MD5s

    @classmethod
    def from_settings(cls, settings: BaseSettings, uri: str) -> Self:
        import boto3
        from botocore.config import Config

        # Their debug logs print every request's headers, a session token among them.
        for name in ("botocore", "boto3", "s3transfer", "urllib3"):
            if logging.getLogger(name).getEffectiveLevel() < logging.INFO:
                logging.getLogger(name).setLevel(logging.INFO)

        def get(name: str) -> Any:
            value = settings.get(name)
            return DEFAULTS.get(name) if value in (None, "") else value

        config = Config(
            retries={"mode": get("S3_RETRY_MODE"), "total_max_attempts": int(get("S3_MAX_ATTEMPTS"))},
            connect_timeout=float(get("S3_CONNECT_TIMEOUT")), read_timeout=float(get("S3_READ_TIMEOUT")),
            # Our own checksums (MD5 and SHA-256) are sent with every upload; no streamed trailers.
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
            user_agent_extra="news-archiver",
        )
        client = boto3.session.Session().client(
            "s3", config=config, endpoint_url=settings.get("AWS_ENDPOINT_URL") or None,
            region_name=settings.get("AWS_REGION_NAME") or None,
            use_ssl=settings.getbool("AWS_USE_SSL", True), verify=settings.get("AWS_VERIFY"),
        )
        put_args = {}
        if storage_class := get("S3_STORAGE_CLASS"):
            put_args["StorageClass"] = storage_class
        if sse := get("S3_SSE"):
            if sse not in ("AES256", "aws:kms"):
                raise ArchiveUnavailable(f"S3_SSE={sse}: use AES256 (SSE-S3) or aws:kms (SSE-KMS)")
            put_args["ServerSideEncryption"] = sse
            if sse == "aws:kms" and (key := get("S3_SSE_KMS_KEY_ID")):
                put_args["SSEKMSKeyId"] = key
        return cls(
            uri, client, Path(get("SPOOL_DIR") or default_spool()).expanduser(),
            multipart_threshold=int(get("S3_MULTIPART_THRESHOLD")), part_size=int(get("S3_PART_SIZE")),
            put_args=put_args, abort_uploads_after=float(get("S3_ABORT_UPLOADS_AFTER")),
            lock_lease=float(get("S3_LOCK_LEASE")),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str) -> Self:
        storage = cls.from_settings(crawler.settings, uri)
        storage.count_requests(crawler.stats.inc_value)
        return storage

    def count_requests(self, inc: Callable[[str], Any]) -> None:
        """Count S3 calls (``s3/requests/<operation>``) and attempts (``s3/attempts``, retries included)."""
        events = self.client.meta.events
        events.register("before-call.s3", lambda model, **_: inc(f"s3/requests/{model.name}"))
        events.register("before-send.s3", lambda **_: inc("s3/attempts"))

    # -- names -------------------------------------------------------------------------------

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def path_of(self, key: str) -> str:
        return key[len(self.prefix) + 1:] if self.prefix else key

    def describe(self, path: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(path)}" if path else f"s3://{self.bucket}/{self.prefix}"

    def spooled(self, path: str) -> Path:
        """Where a complete file waits for its upload."""
        return self.partial_root / path

    # -- reading -----------------------------------------------------------------------------

    def list(self, prefix: str) -> list[Entry]:
        entries = {}
        for path in self.pending():
            if path.startswith(prefix) and (size := _size(self.spooled(path))) is not None:
                entries[path] = Entry(path, size)
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key(prefix)):
                for obj in page.get("Contents", []):
                    path = self.path_of(obj["Key"])
                    if not path.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
                        entries.setdefault(path, Entry(path, obj["Size"]))
        except Exception as exc:  # noqa: BLE001 - botocore errors
            raise ArchiveReadError(f"cannot list {self.describe(prefix)}: {s3_reason(exc)}") from exc
        return sorted(entries.values(), key=lambda e: e.path)

    def read(self, path: str) -> bytes | None:
        with suppress(FileNotFoundError):  # written, not uploaded yet: the spool holds the newest content
            return self.spooled(path).read_bytes()
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(path))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # noqa: BLE001
            raise ArchiveReadError(f"cannot read {self.describe(path)}: {s3_reason(exc)}") from exc

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with suppress(FileNotFoundError), self.spooled(path).open("rb") as f:
            f.seek(offset)
            return f.read(length)
        response = self.client.get_object(Bucket=self.bucket, Key=self.key(path), Range=f"bytes={offset}-{offset + length - 1}")
        return response["Body"].read()

    def open_read(self, path: str) -> BinaryIO:
        with suppress(FileNotFoundError):
            return self.spooled(path).open("rb")
        return self.client.get_object(Bucket=self.bucket, Key=self.key(path))["Body"]

    def size(self, path: str) -> int | None:
        if (spooled := _size(self.spooled(path))) is not None:
            return spooled
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(path))["ContentLength"]
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    # -- writing -----------------------------------------------------------------------------

    def check_writable(self) -> None:
        probe = probe_name()
        try:
            probe_folder(self.partial_root)
        except OSError as exc:
            raise ArchiveUnavailable(f"the spool of ARCHIVE_URI={self.uri} is not writable (SPOOL_DIR): {reason(exc)}") from exc
        try:
            self.client.head_bucket(Bucket=self.bucket)
            self.client.put_object(Bucket=self.bucket, Key=self.key(probe), Body=b"probe\n", **self.put_args)
            self.client.delete_object(Bucket=self.bucket, Key=self.key(probe))
        except Exception as exc:  # noqa: BLE001
            raise ArchiveUnavailable(f"ARCHIVE_URI={self.uri} is not writable: {access_reason(exc, self.bucket)}") from exc

    def write_atomic(self, path: str, data: bytes | Path) -> None:
        local = self.spooled(path)
        with self._spool_lock(path):
            try:
                write_file_atomic(local, data)
                held = local.open("rb")
            except OSError as exc:
                raise ArchiveWriteError(f"cannot spool {self.describe(path)}: {reason(exc)}") from exc
            with held:
                self._upload(path, local, held)

    @contextmanager
    def _spool_lock(self, path: str, wait: bool = True) -> Iterator[bool]:
        """Writers and syncs of one spooled path take turns, threads and processes alike.

        Held from the spooled write to the end of its upload, so a sync never uploads an old
        version over a newer one, and never removes a file a writer is about to upload.
        """
        stripe = zlib.crc32(path.encode()) % LOCK_STRIPES
        lock_file = self.partial_root / LOCKS_DIR / f".{stripe:03d}.lock"
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with lock_file.open("a+b") as held:
            try:
                fcntl.flock(held.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def delete(self, path: str) -> None:
        self.spooled(path).unlink(missing_ok=True)
        self.client.delete_object(Bucket=self.bucket, Key=self.key(path))

    def _publish(self, path: str, file: BinaryIO) -> None:
        with self._spool_lock(path):
            os.replace(self.partial_location(path), self.spooled(path))
            self._upload(path, self.spooled(path), file)

    # -- uploads -----------------------------------------------------------------------------

    def _upload(self, path: str, local: Path, source: BinaryIO) -> int:
        """Upload a spooled file, verify it, then remove it from the spool; returns its size.

        S3 checks each body against its Content-MD5 and SHA-256 on receipt; the ETag it
        answers is then compared with ours, and a multipart upload (whose completion may be
        retried after it succeeded) is checked again by HEAD: size and composite ETag.
        """
        size = os.fstat(source.fileno()).st_size
        source.seek(0)
        try:
            if size >= self.multipart_threshold:
                self._put_multipart(path, source, size)
            else:
                data = source.read()
                md5 = hashlib.md5(data)
                answer = self.client.put_object(
                    Bucket=self.bucket, Key=self.key(path), Body=data, ContentMD5=b64(md5.digest()),
                    ChecksumSHA256=b64(hashlib.sha256(data).digest()), **self.put_args,
                )
                self._check(path, answer, md5.hexdigest())
        except ArchiveWriteError:
            raise
        except Exception as exc:  # noqa: BLE001 - botocore and OS errors alike leave the file spooled
            raise ArchiveWriteError(f"cannot upload {self.describe(path)} (kept in {local}): {s3_reason(exc)}") from exc
        # Unless a newer version replaced it meanwhile, the spooled file has done its job.
        with suppress(FileNotFoundError):
            if os.stat(local).st_ino == os.fstat(source.fileno()).st_ino:
                local.unlink()
        return size

    def _check(self, path: str, answer: dict[str, Any], expected: str, size: int | None = None) -> None:
        """The ETag S3 answered is the MD5 we computed (not under SSE-KMS, set here or on the bucket), and the size."""
        etag = answer.get("ETag", "").strip('"')
        kms = str(answer.get("ServerSideEncryption", "")).startswith("aws:kms")
        stored = answer.get("ContentLength")
        if (not kms and etag != expected) or (size is not None and stored != size):
            raise ArchiveWriteError(
                f"upload of {self.describe(path)} does not match the spooled file "
                f"(ETag {etag}, {stored} bytes; expected {expected}, {size} bytes)"
            )

    def _put_multipart(self, path: str, source: BinaryIO, size: int) -> None:
        key = self.key(path)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **self.put_args)
        upload_id = upload["UploadId"]
        parts, md5s = [], []
        try:
            number = 0
            while chunk := source.read(self.part_size):
                number += 1
                md5 = hashlib.md5(chunk).digest()
                sha256 = b64(hashlib.sha256(chunk).digest())
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk,
                    ContentMD5=b64(md5), ChecksumSHA256=sha256,
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": sha256})
                md5s.append(md5)
            try:
                self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
            except self.client.exceptions.NoSuchUpload:
                pass  # a retried completion whose first attempt succeeded: the HEAD below decides
        except BaseException:
            self._abort(key, upload_id)
            raise
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        self._check(path, head, f"{hashlib.md5(b''.join(md5s)).hexdigest()}-{len(md5s)}", size)

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:  # noqa: BLE001 - the age rule of sync() catches it later
            logger.warning("Could not abort the multipart upload of %s: %s", key, s3_reason(exc))

    def crawl_lock(self, spider: str, on_lost: Callable[[str], None] | None = None, crawl: str | None = None) -> CrawlLock:
        """A lease on ``locks/<spider>.lease``: other machines see it, and a killed crawl's expires."""
        from archiving.lock import LeaseLock

        what = f"{self.describe()} for spider {spider}"
        return LeaseLock(self, f"locks/{spider}.lease", self.lock_lease, what, on_lost or logger.error, crawl)

    # -- leftovers ---------------------------------------------------------------------------

    def pending(self) -> list[str]:
        if not self.partial_root.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(self.partial_root):
            dirnames[:] = [d for d in dirnames if not d.startswith(TEMP_PREFIX)]  # the spool's locks
            for name in filenames:
                if not name.startswith(TEMP_PREFIX) and not name.endswith(PARTIAL_SUFFIX):
                    found.append((Path(dirpath) / name).relative_to(self.partial_root).as_posix())
        return sorted(found, key=upload_order)

    def sync(self) -> SyncReport:
        """Upload what earlier crawls left in the spool (WARCs before their indexes), abort stale uploads."""
        report = SyncReport()
        left = self.pending()
        warcs_left = {basename(p) for p in left if p.startswith(WARC_DIR + "/")}
        for path in left:
            if is_cdxj(path) and warc_of_cdxj(path) in warcs_left:
                continue  # an index goes up only after its WARC
            with self._spool_lock(path, wait=False) as locked:
                try:
                    held = self.spooled(path).open("rb") if locked else None
                except FileNotFoundError:
                    held = None  # uploaded meanwhile
                if held is None:
                    continue  # being written or uploaded by a live crawl
                with held:
                    report.aborted_uploads += self._abort_uploads(self.key(path))
                    try:
                        report.bytes += self._upload(path, self.spooled(path), held)
                        report.uploaded += 1
                        warcs_left.discard(basename(path))
                        logger.warning("Uploaded %s, left in the spool by an earlier crawl", self.describe(path))
                    except ArchiveWriteError as exc:
                        report.failed += 1
                        logger.error("%s", exc)
        report.aborted_uploads += self._abort_uploads(self.key(""), older_than=self.abort_uploads_after)
        return report

    def _abort_uploads(self, key: str, older_than: float | None = None) -> int:
        """Abort unfinished multipart uploads of ``key`` (exactly), or under it older than ``older_than`` seconds."""
        aborted = 0
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than or 0)
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=key)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if older_than is None and upload["Key"] != key:
                        continue
                    if not is_archive_path(self.path_of(upload["Key"])):
                        continue  # another application's upload in the same bucket
                    if older_than is not None and upload["Initiated"] > cutoff:
                        continue
                    self._abort(upload["Key"], upload["UploadId"])
                    aborted += 1
        except Exception as exc:  # noqa: BLE001
            logger.warning("Could not list the unfinished uploads of %s: %s", self.describe(), s3_reason(exc))
        return aborted


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def upload_order(path: str) -> tuple[int, str]:
    """WARCs first, their indexes next, everything else last."""
    return (0 if path.startswith(WARC_DIR + "/") else 1 if path.startswith(INDEX_DIR + "/") else 2, path)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def access_reason(exc: BaseException, bucket: str) -> str:
    """Why a bucket cannot be written, in the operator's terms."""
    from botocore.exceptions import NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (environment, AWS_PROFILE and ~/.aws files, or an instance role)"
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    if code in ("404", "NoSuchBucket"):
        return f"bucket {bucket} does not exist"
    if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return f"access to bucket {bucket} refused ({code}: check the credentials and the bucket policy)"
    return s3_reason(exc)


def s3_reason(exc: BaseException) -> str:
    """One line for a botocore error: its code and message (never credentials: botocore does not print them)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '?')}: {error.get('Message') or exc}"
    return reason(exc)

