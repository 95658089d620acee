"""S3 storage: lands in the next commit; until then ``s3://`` stops the crawl with one line."""

from archiving.storage import ArchiveUnavailable


class S3Storage:
    @classmethod
    def from_crawler(cls, crawler, uri):  # type: ignore[no-untyped-def]
        raise ArchiveUnavailable(f"ARCHIVE_URI={uri}: S3 storage is not available in this build")

    from_settings = from_crawler
