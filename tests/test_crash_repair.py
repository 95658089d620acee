"""kill -9 in the middle of a crawl, then start again: the WARC left open is repaired,
every complete record kept, the torn one cut, and the result passes every check."""

import gzip
import os
import signal
import subprocess
import time

import pytest

from archiving.repair import scan_members
from tests.helpers import BIN, ROOT, run_scrapy
from tests.test_archive_fidelity import LIVE_SETTINGS, start_server
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl  # scrapy crawls, one killed


def test_killed_crawl_is_repaired_on_the_next_start(tmp_path):
    server, base = start_server(tmp_path)
    archive = tmp_path / "archive"
    slow = [f"{base}/slow/article-{i}-about-the-forum.html" for i in range(40)]
    (tmp_path / "urls.txt").write_text("\n".join(slow) + "\n")
    try:
        crawl = subprocess.Popen(
            [str(BIN / "scrapy"), "crawl", "news", "-a", f"urls_file={tmp_path / 'urls.txt'}", "-s", f"ARCHIVE_URI={archive}",
             "-s", "CONCURRENT_REQUESTS=2", "-s", "EXTRACTION_WORKERS=1", *LIVE_SETTINGS],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        leftover = wait_for_records(archive, minimum=9)
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait()

        # A torn write: the crash cut the last record in half.
        whole = scanned(leftover)
        with leftover.open("ab") as f:
            record = b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 9000\r\n\r\n" + os.urandom(9000)
            f.write(gzip.compress(record)[:4000])
        torn = leftover.stat().st_size - whole.good_bytes

        result = run_scrapy(["crawl", "news", "-a", f"url={base}/news/chunked-article-3.html",
                             "-s", f"ARCHIVE_URI={archive}", *LIVE_SETTINGS])
    finally:
        server.kill()
        server.wait()
    assert result.returncode == 0, result.stderr[-2000:]

    repaired = leftover.with_name(leftover.name.removesuffix(".open"))
    assert not leftover.exists() and repaired.exists()
    assert f"kept {whole.records} complete records, cut {torn} bytes of a torn record" in result.stderr
    assert scanned(repaired).records == whole.records
    assert (archive / "indexes" / repaired.name.replace(".warc.gz", ".cdxj")).exists()
    assert list(archive.rglob("*.open")) == []  # the killed crawl's items feed is completed too
    assert list(archive.rglob(".*.tmp")) == []

    captured = [u for u in slow if u.encode() in gunzip_all(repaired)]
    assert captured
    (tmp_path / "check").mkdir()
    report = validate_warcs(archive / "warc", captured, tmp_path / "check")
    assert report.failures == []


def wait_for_records(archive, minimum: int, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in archive.glob("warc/news/*.warc.gz.open"):
            if scanned(path).records >= minimum:
                return path
        time.sleep(0.1)
    raise AssertionError(f"no WARC with {minimum} records appeared")


def scanned(path):
    with path.open("rb") as f:
        return scan_members(f)


def gunzip_all(path) -> bytes:
    return gzip.decompress(path.read_bytes())
