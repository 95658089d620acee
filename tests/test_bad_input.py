"""Bad input in the recording: one clear log line and a stats counter each; the crawl goes on."""

import json

import pytest

from tests.helpers import item_feeds, run_scrapy

pytestmark = pytest.mark.crawl  # a replayed scrapy crawl

VNP = "https://www.vietnamplus.vn"
GOOD = f"{VNP}/nhat-ban-thong-qua-goi-kich-thich-kinh-te-quy-mo-lon-post1078364.vnp"
NO_TEXT = f"{VNP}/video-ban-tin-thoi-su-ngay-25-11-2025-post1079150.vnp"
PDF = f"{VNP}/Uploaded/2025/bao-cao-hop-tac-dia-phuong-viet-nhat.pdf"
GONE = f"{VNP}/bai-viet-da-go-bo-post1079152.vnp"
SERVER_ERROR = f"{VNP}/loi-may-chu-post1079153.vnp"
REDIRECT = f"{VNP}/duong-dan-cu-chuyen-huong-post1079154.vnp"
REDIRECT_TARGET = f"{VNP}/duong-dan-moi-da-xoa-post1079155.vnp"
TRUNCATED = f"{VNP}/phan-hoi-bi-cat-ngang-post1079156.vnp"


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    urls = tmp / "urls.txt"
    urls.write_text("\n".join([NO_TEXT, PDF, GONE, SERVER_ERROR, REDIRECT, TRUNCATED, GOOD]) + "\n")
    result = run_scrapy([
        "crawl", "vietnamplus", "-a", f"urls_file={urls}",
        "-s", "REPLAY=tests/fixtures", "-s", f"ARCHIVE_URI={tmp / 'archive'}", "-s", f"STATS_FILE={tmp / 'stats.json'}",
        "-s", "RELATED_DEPTH=0",
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads((tmp / "stats.json").read_text())
    records = [json.loads(line) for p in item_feeds(tmp / "archive", "vietnamplus") for line in p.read_text().splitlines()]
    return result.stderr, stats, records, tmp / "archive"


def lines_about(log: str, url: str) -> list[str]:
    return [line for line in log.splitlines() if url in line and ("WARNING" in line or "ERROR" in line or "INFO" in line)]


def test_crawl_finishes_and_writes_the_good_pages(bad_crawl):
    _, stats, records, _ = bad_crawl
    assert stats["finish_reason"] == "finished"
    assert sorted(r["url"] for r in records) == sorted([GOOD, TRUNCATED])


def test_truncated_html_still_yields_its_text(bad_crawl):
    _, _, records, _ = bad_crawl
    record = next(r for r in records if r["url"] == TRUNCATED)
    assert record["title"] == "Nhật Bản thông qua gói kích thích kinh tế quy mô lớn"
    assert len(record["text"].split()) > 100


def test_page_without_article_text_is_logged_and_counted(bad_crawl):
    log, stats, _, _ = bad_crawl
    assert stats["extraction/no_text"] == 1
    assert any("No article text in" in line for line in lines_about(log, NO_TEXT))


def test_pdf_is_archived_but_not_extracted(bad_crawl):
    log, stats, _, archive = bad_crawl
    assert stats["news/skipped/not_html"] == 1
    assert any("not an HTML page (application/pdf" in line for line in lines_about(log, PDF))
    cdxj = "".join(p.read_text() for p in (archive / "indexes").glob("*.cdxj"))
    assert "bao-cao-hop-tac-dia-phuong-viet-nhat.pdf" in cdxj


@pytest.mark.parametrize(("url", "status"), [(GONE, 404), (SERVER_ERROR, 500)])
def test_http_error_is_logged_and_counted(bad_crawl, url, status):
    log, stats, _, _ = bad_crawl
    assert stats[f"httperror/response_ignored_status_count/{status}"] >= 1
    assert any(f"<{status} {url}>" in line for line in lines_about(log, url))


def test_redirect_to_a_missing_page_is_followed_logged_and_counted(bad_crawl):
    log, stats, _, _ = bad_crawl
    assert stats["downloader/response_status_count/301"] == 1
    assert stats["replay/miss"] == 1
    assert any("Not in the recording" in line for line in lines_about(log, REDIRECT_TARGET))


def test_every_attempt_is_in_the_warc_index(bad_crawl):
    _, _, _, archive = bad_crawl
    cdxj = "".join(p.read_text() for p in (archive / "indexes").glob("*.cdxj"))
    for url, status in [(GONE, "404"), (SERVER_ERROR, "500"), (REDIRECT, "301"), (NO_TEXT, "200")]:
        path = url.split("vietnamplus.vn", 1)[1]
        assert any(path in line and f'"status": "{status}"' in line for line in cdxj.splitlines()), url
