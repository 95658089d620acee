"""Watching a crawl: the progress line (crawler.progress) and the per-site figures at its end
(crawler.sitestats, crawler.outcome)."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess

import pytest

from crawler.outcome import site_table
from crawler.progress import CLEAR, StatusStream, progress_line
from crawler.sitestats import by_site
from tests.helpers import BIN, ROOT

REPLAYED = ["crawl", "vietnamplus", "-s", "REPLAY=tests/fixtures", "-s", "EXTRACTION_WORKERS=1"]

STATS = {
    "response_received_count": 130, "textstore/written": 102, "textstore/new_version": 2, "textstore/unchanged": 5,
    "warc/revisits": 2, "warc/not_modified_revisits": 1, "downloader/response_status_count/503": 1,
    "scheduler/enqueued": 410,
}


def test_the_progress_line_gives_pages_rate_articles_revisits_errors_and_queue():
    line = progress_line(STATS, elapsed=62, rate=4.13, queued=290, in_flight=0)
    assert line == ("0:01:02 | 130 pages, 4.1/s | articles 100 new, 2 changed, 5 unchanged | 3 revisits | 1 errors"
                    " | 290 queued")


def test_on_a_terminal_a_bar_shows_the_requests_done_over_those_known():
    line = progress_line(STATS, elapsed=62, rate=4.1, queued=290, in_flight=15, bar=True)
    assert line.startswith("0:01:02 [#####...............] 105/410 | ")


def test_a_log_line_scrolls_above_the_status_line():
    terminal = io.StringIO()
    stream = StatusStream(terminal)
    stream.show("status 1")
    stream.write("a log line\n")
    stream.clear()
    assert terminal.getvalue() == f"{CLEAR}status 1{CLEAR}a log line\nstatus 1{CLEAR}"


def test_per_site_stats_become_the_sites_figures():
    stats = {"site/a.example/pages": 3, "site/a.example/bytes": 2048, "site/a.example/articles_new": 2,
             "site/a.example/first_seen": 100.0, "site/a.example/last_seen": 112.5, "site/b.example/errors": 1,
             "downloader/request_count": 9}
    sites = by_site(stats)
    assert sites == {
        "a.example": {"pages": 3, "articles_new": 2, "articles_changed": 0, "revisits": 0, "errors": 0, "bytes": 2048,
                      "seconds": 12.5},
        "b.example": {"pages": 0, "articles_new": 0, "articles_changed": 0, "revisits": 0, "errors": 1, "bytes": 0,
                      "seconds": 0.0},
    }
    lines = site_table(sites)
    assert lines[0].split() == ["site", "pages", "new", "changed", "revisits", "errors", "bytes", "time"]
    assert lines[1].split() == ["a.example", "3", "2", "0", "0", "0", "2.0", "KB", "12", "s"]


@pytest.mark.crawl
def test_in_a_log_the_progress_is_plain_lines(tmp_path):
    result = subprocess.run([str(BIN / "scrapy"), *REPLAYED, "-s", f"ARCHIVE_URI={tmp_path / 'archive'}",
                             "-s", "PROGRESS_INTERVAL=0.2", "-s", "DOWNLOAD_DELAY=0.05"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "[crawler.progress] INFO: Progress: " in line]
    assert len(lines) >= 2
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "Crawled " not in result.stderr  # Scrapy's per-minute line: replaced


@pytest.mark.crawl
def test_on_a_terminal_the_progress_is_one_line_rewritten_in_place(tmp_path):
    primary, secondary = pty.openpty()
    crawl = subprocess.Popen([str(BIN / "scrapy"), *REPLAYED, "-s", f"ARCHIVE_URI={tmp_path / 'archive'}",
                              "-s", "PROGRESS_INTERVAL=0.2", "-s", "DOWNLOAD_DELAY=0.05"],
                             cwd=ROOT, stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = b""
    while select.select([primary], [], [], 120)[0]:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the crawl closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert crawl.wait(30) == 0
    text = output.decode("utf-8", "replace")
    statuses = text.split(CLEAR)[1:]
    assert len(statuses) >= 3
    assert any("] " in status and " pages, " in status for status in statuses)  # the bar, then the figures
    # Log lines scroll above it, and it is gone once the crawl ends: the run summary is last, whole.
    assert "Run summary of vietnamplus" in statuses[-1]
    assert "Progress: " not in text


@pytest.mark.crawl
def test_every_crawl_ends_with_a_table_per_site_that_its_run_summary_holds(tmp_path):
    archive = tmp_path / "archive"
    result = subprocess.run([str(BIN / "scrapy"), *REPLAYED, "-s", f"ARCHIVE_URI={archive}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(next((archive / "items" / "vietnamplus").glob("*.summary.json")).read_text())
    sites = summary["sites"]
    assert sites["www.vietnamplus.vn"]["articles_new"] == summary["articles"]["new"] > 0
    assert sum(site["pages"] for site in sites.values()) == sum(summary["responses_by_status"].values())
    assert sum(site["bytes"] for site in sites.values()) > 0
    table = result.stderr[result.stderr.index("Run summary of"):]
    row = next(line.split() for line in table.splitlines() if line.strip().startswith("www.vietnamplus.vn"))
    assert row[1:3] == [str(sites["www.vietnamplus.vn"]["pages"]), str(summary["articles"]["new"])]
