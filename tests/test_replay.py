import asyncio
import json
import zipfile

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.replay import MISS_FLAG, FixtureStore, ReplayDownloadHandler, WarcRecording, open_recording
from tests.helpers import FIXTURES, item_feeds, run_scrapy

VNP = "https://www.vietnamplus.vn"
ARTICLE = f"{VNP}/noi-nhip-cau-van-hoa-viet-nhat-post1078571.vnp"


def handler_for(location) -> ReplayDownloadHandler:
    crawler = get_crawler(settings_dict={"REPLAY": str(location)})
    crawler.stats.open_spider()
    return ReplayDownloadHandler.from_crawler(crawler)


def download(handler: ReplayDownloadHandler, url: str):
    return asyncio.run(handler.download_request(Request(url)))


def test_url_maps_to_a_file_under_its_host():
    store = FixtureStore(FIXTURES)
    assert store.path_for(ARTICLE) == FIXTURES / "www.vietnamplus.vn/noi-nhip-cau-van-hoa-viet-nhat-post1078571.vnp"
    assert store.path_for("https://nhandan.vn/") == FIXTURES / "nhandan.vn/_index"
    assert store.path_for("https://a.vn/tim-ki%E1%BA%BFm?q=gunma") == FIXTURES / "a.vn/tim-kiếm?q=gunma"


def test_fixture_without_headers_file_is_200_with_a_guessed_type():
    status, headers, body = FixtureStore(FIXTURES).lookup(f"{VNP}/rss/home.rss")
    assert status == 200
    assert ("Content-Type", "application/rss+xml; charset=utf-8") in headers
    assert body.startswith(b"<?xml")


def test_headers_file_gives_status_and_headers():
    status, headers, _ = FixtureStore(FIXTURES).lookup(f"{VNP}/duong-dan-cu-chuyen-huong-post1079154.vnp")
    assert status == 301
    assert ("Location", f"{VNP}/duong-dan-moi-da-xoa-post1079155.vnp") in headers


def test_missing_url_is_a_flagged_404_and_counted(caplog):
    handler = handler_for(FIXTURES)
    response = download(handler, f"{VNP}/khong-co-post1.vnp")
    assert response.status == 404 and MISS_FLAG in response.flags
    assert handler.stats.get_value("replay/miss") == 1
    assert f"Not in the recording (REPLAY={FIXTURES}), answering 404: {VNP}/khong-co-post1.vnp" in caplog.text


def test_fixture_response_is_html_with_its_length():
    response = download(handler_for(FIXTURES), ARTICLE)
    assert response.status == 200
    assert response.headers[b"Content-Length"] == str(len(response.body)).encode()
    assert response.css("h1::text").get().strip() == "Nối nhịp cầu văn hóa Việt - Nhật"


def test_missing_recording_is_refused_with_the_setting_named(tmp_path):
    with pytest.raises(NotConfigured, match="REPLAY=.*no such file or folder"):
        open_recording(str(tmp_path / "nothing"))


@pytest.mark.crawl
def test_folder_with_warcs_replays_warcs_and_a_plain_folder_is_a_fixture_store(demo_archive):
    assert isinstance(open_recording(str(demo_archive / "warc")), WarcRecording)
    assert isinstance(open_recording(str(FIXTURES)), FixtureStore)


@pytest.mark.crawl
def test_warc_replays_what_the_fixture_served(demo_archive):
    warc = next(demo_archive.glob("warc/vietnamplus/*.warc.gz"))
    original = download(handler_for(FIXTURES), ARTICLE)
    replayed = download(handler_for(warc), ARTICLE)
    assert (replayed.status, replayed.body) == (200, original.body)
    assert replayed.headers[b"Content-Type"] == original.headers[b"Content-Type"]


@pytest.mark.crawl
def test_wacz_replays_its_warcs(demo_archive, tmp_path):
    warc = next(demo_archive.glob("warc/vietnamplus/*.warc.gz"))
    wacz = tmp_path / "crawl.wacz"
    with zipfile.ZipFile(wacz, "w", compression=zipfile.ZIP_STORED) as z:
        z.write(warc, f"archive/{warc.name}")
        z.writestr("datapackage.json", "{}")
    response = download(handler_for(wacz), ARTICLE)
    assert response.status == 200 and "Nối nhịp cầu" in response.text


@pytest.mark.crawl
def test_replayed_crawl_of_a_warc_gives_the_same_articles(demo_archive, demo_records, tmp_path):
    result = run_scrapy([
        "crawl", "sggp", "-s", f"REPLAY={demo_archive / 'warc' / 'sggp'}", "-s", f"ARCHIVE_URI={tmp_path}",
    ])
    assert result.returncode == 0, result.stderr[-2000:]
    replayed = [json.loads(line) for p in item_feeds(tmp_path, "sggp") for line in p.read_text().splitlines()]
    key = lambda r: r["url"]  # noqa: E731
    assert [(r["url"], r["content_digest"]) for r in sorted(replayed, key=key)] == [
        (r["url"], r["content_digest"]) for r in sorted(demo_records["sggp"], key=key)
    ]
