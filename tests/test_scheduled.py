"""Scheduled crawls on a server: one crawl per archive and spider, a documented exit status,
a run summary, pause and resume, and a killed crawl completed by the next."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from archiving.lock import ArchiveLocked
from archiving.s3 import S3Storage
from archiving.storage import LocalStorage
from crawler.outcome import (
    EXIT_ARCHIVE,
    EXIT_ERRORS,
    EXIT_NO_ARTICLES,
    EXIT_NOT_FINISHED,
    EXIT_OK,
    exit_status,
)
from tests.helpers import BIN, ROOT, item_feeds, run_scrapy
from tests.processes import processes, wait_for
from tests.s3server import unique_bucket_name

REPLAYED = ["crawl", "vietnamplus", "-s", "REPLAY=tests/fixtures"]
SLOW = ["-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS=1", "-s", "EXTRACTION_WORKERS=1"]


def start(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY")}
    return subprocess.Popen([str(BIN / "scrapy"), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def texts(archive: Path) -> set[str]:
    return {p.relative_to(archive).as_posix() for p in archive.glob("text/*/*")}


# -- one crawl at a time ---------------------------------------------------------------------


@pytest.mark.crawl
def test_a_second_crawl_of_the_same_spider_is_refused_with_status_4_and_a_later_one_runs(tmp_path):
    archive = tmp_path / "archive"
    first = start([*REPLAYED, "-s", f"ARCHIVE_URI={archive}", *SLOW])
    try:
        wait_for(lambda: list(archive.glob("warc/vietnamplus/*.open")))
        second = run_scrapy([*REPLAYED, "-s", f"ARCHIVE_URI={archive}"])
    finally:
        out, err = first.communicate(timeout=300)
    assert second.returncode == 4 and "Traceback" not in second.stderr
    assert f"another crawl holds {archive.absolute()} for spider vietnamplus: not crawling" in second.stderr
    assert first.returncode == 0, err[-2000:]
    assert run_scrapy([*REPLAYED, "-s", f"ARCHIVE_URI={archive}"]).returncode == 0


def children(pid: int) -> set[int]:
    return {process.pid for process in processes().values() if process.ppid == pid}


@pytest.mark.crawl
def test_a_crawl_killed_with_sigkill_leaves_no_extraction_worker_behind(tmp_path):
    archive = tmp_path / "archive"
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={archive}", *SLOW])
    wait_for(lambda: list(archive.glob("text/*/*.json")))  # the pool's worker has done some work
    workers = children(crawl.pid)
    assert workers
    os.kill(crawl.pid, signal.SIGKILL)
    crawl.wait()  # not communicate(): an orphaned worker would hold its pipes open
    try:
        wait_for(lambda: not workers & set(processes()), timeout=10)
    finally:
        for pid in workers:  # an orphan must not outlive the test either way
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        crawl.stdout.close()
        crawl.stderr.close()


@pytest.mark.crawl
def test_a_killed_crawls_lock_does_not_block_the_next(tmp_path):
    archive = tmp_path / "archive"
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={archive}", *SLOW])
    wait_for(lambda: list(archive.glob("warc/vietnamplus/*.open")))
    os.kill(crawl.pid, signal.SIGKILL)
    crawl.communicate()
    assert run_scrapy([*REPLAYED, "-s", f"ARCHIVE_URI={archive}"]).returncode == 0


def test_other_spiders_may_crawl_into_the_same_archive_meanwhile(tmp_path):
    storage = LocalStorage(tmp_path)
    with storage.crawl_lock("vietnamplus"), storage.crawl_lock("sggp"):
        with pytest.raises(ArchiveLocked):
            storage.crawl_lock("vietnamplus")


@pytest.mark.crawl
def test_an_s3_lease_is_exclusive_renewed_and_taken_over_once_expired(s3, tmp_path):
    bucket = s3.create_bucket(unique_bucket_name("lock"))
    storage = S3Storage(f"s3://{bucket}/news", s3.client(), tmp_path, lock_lease=1.5)
    lock = storage.crawl_lock("vietnamplus")
    time.sleep(2)  # past one lease: renewals keep it
    with pytest.raises(ArchiveLocked, match="another crawl holds s3://.* for spider vietnamplus"):
        storage.crawl_lock("vietnamplus")
    lock._stop.set()  # a crawl killed: nobody renews, the lease expires
    time.sleep(2)
    with storage.crawl_lock("vietnamplus"):
        pass
    lock.release()
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket, Prefix="news/locks/")


# -- outcomes --------------------------------------------------------------------------------


FINISHED = {"finish_reason": "finished", "downloader/request_count": 10, "extraction/articles": 3}


@pytest.mark.parametrize(("stats", "status"), [
    (FINISHED, EXIT_OK),
    ({**FINISHED, "archive/write_failed": 1}, EXIT_ARCHIVE),
    ({**FINISHED, "archive/sync_failed": 1}, EXIT_ARCHIVE),
    ({**FINISHED, "finish_reason": "shutdown"}, EXIT_NOT_FINISHED),
    ({**FINISHED, "finish_reason": "closespider_timeout"}, EXIT_NOT_FINISHED),
    ({**FINISHED, "downloader/response_status_count/503": 6}, EXIT_ERRORS),
    ({**FINISHED, "downloader/exception_count": 7, "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 6},
     EXIT_OK),
    ({**FINISHED, "extraction/articles": 0, "incremental/enabled": 1, "incremental/listed_new": 4}, EXIT_NO_ARTICLES),
    ({**FINISHED, "extraction/articles": 0, "news/discovered/sitemap": 4}, EXIT_NO_ARTICLES),
    # Nothing new was listed (a quiet hour): the entries were known and not due.
    ({**FINISHED, "extraction/articles": 0, "incremental/enabled": 1, "news/discovered/sitemap": 4}, EXIT_OK),
])
def test_exit_status_follows_the_readme_table(stats, status):
    assert exit_status(stats, 0.5)[0] == status


@pytest.mark.crawl
def test_every_crawl_writes_a_run_summary_and_logs_it(tmp_path):
    archive = tmp_path / "archive"
    result = run_scrapy([*REPLAYED, "-s", f"ARCHIVE_URI={archive}"])
    assert result.returncode == 0
    [summary] = archive.glob("items/vietnamplus/*.summary.json")
    run = json.loads(summary.read_text())
    assert run["exit_status"] == 0 and run["finish_reason"] == "finished"
    assert run["articles"] == {"new": 20, "changed": 0, "unchanged": 0, "skipped_by_policy": 0}
    assert run["responses_by_status"] == {"200": 31} and run["requests"] == 31 and run["errors"] == 0
    assert run["bytes_downloaded"] > 0 and run["duration_s"] >= 0
    assert f"Run summary of vietnamplus {run['crawl_id']}:" in result.stderr and "exit            0: finished" in result.stderr


# -- pause and resume, kill and complete ------------------------------------------------------


@pytest.mark.crawl
def test_sigint_then_resume_with_jobdir_gives_the_archive_of_one_uninterrupted_crawl(tmp_path):
    whole = tmp_path / "whole"
    assert run_scrapy([*REPLAYED, "-s", f"ARCHIVE_URI={whole}"]).returncode == 0

    archive, jobdir = tmp_path / "archive", tmp_path / "job"
    args = [*REPLAYED, "-s", f"ARCHIVE_URI={archive}", "-s", f"JOBDIR={jobdir}", *SLOW]
    paused = start(args)
    wait_for(lambda: len(list(archive.glob("text/*/*.json"))) >= 3)
    paused.send_signal(signal.SIGINT)
    _, err = paused.communicate(timeout=120)
    assert paused.returncode == 5 and "shutdown" in err  # ended, not finished
    assert len(list(archive.glob("text/*/*.json"))) < 20

    resumed = run_scrapy(args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert texts(archive) == texts(whole)
    urls = [json.loads(line)["canonical_url"] for feed in item_feeds(archive, "vietnamplus")
            for line in feed.read_text().splitlines()]
    assert len(urls) == len(set(urls)) == 20  # across both runs' feeds: each article once
