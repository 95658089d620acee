"""A crawl that cannot archive stops, says so in one line, exits 3, and loses nothing.

The disk-full case stands in as a file-size limit (RLIMIT_FSIZE): writes past it fail
with EFBIG, as they would with ENOSPC, while the archive's small files still fit.
"""

import gzip
import json
import resource
import subprocess

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.helpers import BIN, ROOT, run_scrapy

pytestmark = pytest.mark.crawl  # every test runs scrapy crawls

CRAWL = ["crawl", "vietnamplus", "-s", "REPLAY=tests/fixtures"]


def test_unwritable_archive_stops_the_crawl_before_any_request_in_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = run_scrapy([*CRAWL, "-s", f"ARCHIVE_URI={tmp_path / 'file' / 'archive'}"])
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "Traceback" in line]
    assert len(errors) == 1 and "is not writable: Not a directory" in errors[0]
    assert "Spider opened" not in result.stderr


def test_unknown_archive_scheme_stops_the_crawl_in_one_line(tmp_path):
    result = run_scrapy([*CRAWL, "-s", "ARCHIVE_URI=ftp://example.org/archive"])
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "ARCHIVE_URI=ftp://example.org/archive: unsupported scheme 'ftp'" in result.stderr


def crawl_under_file_size_limit(archive, limit: int, *settings: str) -> subprocess.CompletedProcess:
    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [BIN / "scrapy", *CRAWL, "-s", f"ARCHIVE_URI={archive}", "-s", "EXTRACTION_WORKERS=1", *settings],
        cwd=ROOT, capture_output=True, text=True, timeout=300, preexec_fn=limit_file_size,
    )


def warc_record_ids(archive) -> set[str]:
    ids = set()
    for path in archive.glob("warc/*/*.warc.gz"):
        with path.open("rb") as f:
            ids |= {r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(f)}
    return ids


def article_records(archive) -> list[dict]:
    return [json.loads(p.read_text()) for p in archive.glob("text/*/*.json")]


def test_a_full_disk_closes_the_crawl_and_every_record_names_an_existing_capture(tmp_path):
    archive = tmp_path / "archive"
    result = crawl_under_file_size_limit(archive, 100_000)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "Archive write failed, closing the crawl:" in result.stderr and "File too large" in result.stderr
    assert "'finish_reason': 'archive_write_failed'" in result.stderr

    # What was finished is whole: the WARC keeps its complete records, and nothing is left partial.
    assert list(archive.rglob("*.open")) == [] and list(archive.rglob(".*.tmp")) == []
    for warc in archive.glob("warc/*/*.warc.gz"):
        gzip.decompress(warc.read_bytes())
        assert (archive / "indexes" / warc.name.replace(".warc.gz", ".cdxj")).exists()
    captured = warc_record_ids(archive)
    first = article_records(archive)
    assert all(record["warc_record_id"] in captured for record in first)

    # The next crawl, with room again, completes the archive, and still every record names a capture.
    again = run_scrapy([*CRAWL, "-s", f"ARCHIVE_URI={archive}"])
    assert again.returncode == 0, again.stderr[-2000:]
    records = article_records(archive)
    assert len(records) > len(first)
    assert all(record["warc_record_id"] in warc_record_ids(archive) for record in records)


def test_a_full_disk_under_the_items_feed_keeps_it_whole_lines_and_exits_3(tmp_path):
    # Tiny WARCs (one per exchange): the items feed is the file that reaches the limit.
    archive = tmp_path / "archive"
    result = crawl_under_file_size_limit(archive, 40_000, "-s", "WARC_MAX_SIZE=1")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "Archive write failed, closing the crawl: cannot write" in result.stderr and "jsonl.open" in result.stderr
    feeds = [p for p in archive.glob("items/vietnamplus/*.jsonl") if not p.name.endswith(".stories.jsonl")]
    assert len(feeds) == 1 and list(archive.rglob("*.open")) == []
    lines = feeds[0].read_text().splitlines()
    assert lines and all(json.loads(line)["url"] for line in lines)
