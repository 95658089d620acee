"""The WARC archive of a crawl of a real HTTP server on loopback keeps every exchange
exactly, indexes it, and replays it in pywb byte for byte."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiving.storage import LocalStorage
from archiving.wacz import build_wacz, validate
from tests.helpers import ROOT, item_feeds, run_scrapy
from tests.siteserver import urls
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl  # scrapy crawls a local test site


def start_server(tmp: Path, host: str = "127.0.0.1") -> tuple[subprocess.Popen, str]:
    portfile = tmp / "port"
    process = subprocess.Popen([sys.executable, "-m", "tests.siteserver", host, str(portfile)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not portfile.exists() or not portfile.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the test site server did not start")
        time.sleep(0.05)
    return process, f"http://{host}:{portfile.read_text()}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    process, base = start_server(tmp_path_factory.mktemp("site"))
    yield base
    process.kill()
    process.wait()


LIVE_SETTINGS = ["-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1", "-s", "AUTOTHROTTLE_ENABLED=0",
                 "-s", "DOWNLOAD_DELAY=0", "-s", "RELATED_DEPTH=0"]


@pytest.fixture(scope="module")
def crawl(site, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fidelity")
    links = urls(site)
    (tmp / "urls.txt").write_text("\n".join(u for p, u in links.items() if p != "/robots.txt") + "\n")
    result = run_scrapy(["crawl", "news", "-a", f"urls_file={tmp / 'urls.txt'}", "-s", f"ARCHIVE_URI={tmp / 'archive'}",
                         "-s", f"STATS_FILE={tmp / 'stats.json'}", "-s", "RETRY_TIMES=1", *LIVE_SETTINGS])
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "archive", links, json.loads((tmp / "stats.json").read_text())


def records(archive: Path) -> list:
    found = []
    for path in sorted(archive.glob("warc/*/*.warc.gz")):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                found.append((record.rec_type, record.rec_headers, record.http_headers, record.content_stream().read()))
    return found


def response_of(archive: Path, url: str, kinds=("response",)):
    return [r for r in records(archive) if r[0] in kinds and r[1].get_header("WARC-Target-URI") == url]


OK_PATHS = [
    "/robots.txt", "/news/gzip-encoded-article-1.html", "/news/copy-of-gzip-encoded-article-1.html",
    "/news/brotli-encoded-article-2.html", "/news/chunked-article-3.html", "/news/chunked-gzip-article-4.html",
    "/news/redirect-destination-article-5.html", "/news/cookies-and-links-article-6.html", "/search?q=gunma&page=2",
    "/tin-tức/bài-viết-tiếng-việt-7.html", "/news/very-long-report-article-10.html", "/images/photo-11.jpg",
]


def test_warcs_pass_strict_checks_index_and_pywb_replay(crawl, tmp_path):
    archive, links, _ = crawl
    report = validate_warcs(archive / "warc", [links[p] for p in OK_PATHS], tmp_path)
    size = sum(p.stat().st_size for p in (archive / "warc").rglob("*.warc.gz"))
    print(f"warc-validate: {report.files} files, {size} bytes, {report.records} records {report.record_types}, "
          f"{report.replayed} urls replayed, {len(report.failures)} failures")
    assert report.failures == []
    assert report.replayed == len(OK_PATHS)


def test_every_url_is_in_the_cdxj_index_with_its_status(crawl):
    archive, links, _ = crawl
    lines = [json.loads(line.split(" ", 2)[2]) for p in archive.glob("indexes/*.cdxj") for line in p.read_text().splitlines()]
    statuses = {(entry["url"], entry.get("status")) for entry in lines}
    for path, status in [*((p, "200") for p in OK_PATHS), ("/old/redirect-start", "302"), ("/old/redirect-middle", "301"),
                         ("/news/missing-article-8.html", "404"), ("/news/server-error-article-9.html", "500")]:
        assert (links[path], status) in statuses, path


def test_every_retry_is_recorded(crawl):
    archive, links, _ = crawl
    assert len(response_of(archive, links["/news/server-error-article-9.html"])) == 2


def test_status_line_keeps_version_and_reason(crawl):
    archive, links, _ = crawl
    http = response_of(archive, links["/old/redirect-start"])[0][2]
    assert (http.protocol, http.statusline) == ("HTTP/1.1", "302 Found")


def test_repeated_headers_are_all_kept(crawl):
    archive, links, _ = crawl
    http = response_of(archive, links["/news/cookies-and-links-article-6.html"])[0][2]
    assert [v for k, v in http.headers if k.lower() == "set-cookie"] == ["session=abc; Path=/; HttpOnly", "consent=yes; Path=/"]
    assert len([v for k, v in http.headers if k.lower() == "link"]) == 2


def test_request_record_has_the_full_target_and_the_response_its_ip(crawl):
    archive, links, _ = crawl
    url = links["/search?q=gunma&page=2"]
    request = next(r for r in records(archive) if r[0] == "request" and r[1].get_header("WARC-Target-URI") == url)
    assert request[2].statusline == "/search?q=gunma&page=2 HTTP/1.1"
    assert response_of(archive, url)[0][1].get_header("WARC-IP-Address") == "127.0.0.1"


def test_vietnamese_path_is_percent_encoded_in_the_record(crawl):
    archive, links, _ = crawl
    url = links["/tin-tức/bài-viết-tiếng-việt-7.html"]
    assert "%E1%BB%A9" in url and response_of(archive, url)


def test_identical_payload_is_a_revisit_of_the_first_capture(crawl):
    archive, links, stats = crawl
    pair = [links["/news/gzip-encoded-article-1.html"], links["/news/copy-of-gzip-encoded-article-1.html"]]
    revisits = [r for r in records(archive) if r[0] == "revisit"]
    assert stats["warc/revisits"] == len(revisits)
    of_pair = [r for r in revisits if r[1].get_header("WARC-Target-URI") in pair]
    assert len(of_pair) == 1
    headers = of_pair[0][1]
    assert headers.get_header("WARC-Target-URI") in pair
    assert headers.get_header("WARC-Refers-To-Target-URI") in pair
    assert headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
    original = next(r for r in records(archive) if r[0] == "response" and r[1].get_header("WARC-Record-ID") == headers.get_header("WARC-Refers-To"))
    assert original[1].get_header("WARC-Payload-Digest") == headers.get_header("WARC-Payload-Digest")


def test_each_article_has_a_metadata_record_referring_to_its_response(crawl):
    archive, _, stats = crawl
    all_records = records(archive)
    response_ids = {r[1].get_header("WARC-Record-ID") for r in all_records if r[0] in ("response", "revisit")}
    metadata = [r for r in all_records if r[0] == "metadata"]
    assert len(metadata) == stats["extraction/articles"] > 5
    for _, headers, _, payload in metadata:
        assert headers.get_header("Content-Type") == "application/warc-fields"
        assert headers.get_header("WARC-Refers-To") in response_ids
        fields = dict(line.split(": ", 1) for line in payload.decode().splitlines())
        assert json.loads(fields["url"]) == headers.get_header("WARC-Target-URI")
        assert json.loads(fields["text"])
        assert "story_id" not in fields and "warc_record_id" not in fields


def test_wacz_of_the_crawl_validates(crawl, tmp_path):
    archive, _, _ = crawl
    warcs, pages = build_wacz(LocalStorage(str(archive)), tmp_path / "crawl.wacz")
    assert warcs >= 1 and pages > 5
    assert validate(tmp_path / "crawl.wacz")


def test_scrapy_wacz_command_packages_one_crawl(crawl, tmp_path):
    archive, _, _ = crawl
    crawl_id = item_feeds(archive, "news")[0].stem
    result = run_scrapy(["wacz", "--crawl", crawl_id, "-o", str(tmp_path / "one.wacz"), "-s", f"ARCHIVE_URI={archive}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wacz validate: passed" in result.stdout
