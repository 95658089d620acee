"""The `news` spider against a hostile site on loopback (tests/hostilesite.py).

Everything a web server can send gets one clear log line and a stat, never a traceback; the
good pages around it are still archived; no request ever reaches a forbidden address.
One crawl of every case runs once for the module; each test reads one behaviour from it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import item_feeds, run_scrapy
from tests.hostilesite import SENTENCES, VIETNAMESE, HostileSite

pytestmark = pytest.mark.crawl

# The trickling and silent servers are given up at this timeout (30 s by default).
TIMEOUT = 4
# Redirect targets are reached through their chain only, not listed themselves.
NOT_LISTED = re.compile(r"/redirect/(chain-([2-9]|1\d)|loop-b|short-chain-2)-page\.html$")


@dataclass
class Crawl:
    site: HostileSite
    log: str
    stats: dict
    records: dict[str, dict]
    returncode: int

    def lines_about(self, path: str) -> list[str]:
        return [line for line in self.log.splitlines() if path in line and re.search(r"\] (INFO|WARNING|ERROR):", line)]

    def requests_for(self, path: str, server: str = "main") -> list[float]:
        return [hit.at for hit in self.site.hits if hit.server == server and hit.path.split("?")[0].split(";")[0] == path]


def _crawl(tmp: Path, site: HostileSite, *args: str) -> Crawl:
    result = run_scrapy([
        "crawl", "news", *args, "-s", f"ARCHIVE_URI={tmp / 'archive'}", "-s", f"STATS_FILE={tmp / 'stats.json'}",
        "-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1", "-s", f"DOWNLOAD_TIMEOUT={TIMEOUT}",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
    ])
    records = {}
    for feed in item_feeds(tmp / "archive", "news"):
        for line in feed.read_text().splitlines():
            record = json.loads(line)
            records[record["url"].split("/", 3)[3]] = record
    return Crawl(site, result.stderr, json.loads((tmp / "stats.json").read_text()), records, result.returncode)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Crawl:
    tmp = tmp_path_factory.mktemp("hostile")
    with HostileSite() as site:
        urls = [site.url(case.path) for case in site.cases if not NOT_LISTED.search(case.path)]
        urls += [site.url("/robots-case-page.html", name) for name in site.robots_behaviours()]
        urls += [
            site.url("/forbidden-page.html", "forbidden2", "127.0.0.2"),
            site.url("/forbidden-page.html", "forbidden3", "127.0.0.3"),
            site.url("/trap/session-id-page.html;jsessionid=0123456789ABCDEF"),
            site.url("/trap/session-id-page.html?PHPSESSID=abc123"),
            site.url("/trap/session-id-page.html?sessionid=42&utm_source=feed"),
            site.url("/trap/long/" + "a-" * 1100 + "page.html"),
        ]
        (tmp / "urls.txt").write_text("\n".join(urls) + "\n")
        return _crawl(tmp, site, "-a", f"urls_file={tmp / 'urls.txt'}")


@pytest.fixture(scope="module")
def site_crawl(tmp_path_factory) -> Crawl:
    """The whole site discovered from its home page, as `-a site=` does."""
    tmp = tmp_path_factory.mktemp("hostile-site")
    with HostileSite() as site:
        return _crawl(tmp, site, "-a", f"site={site.url('/')}")


# -- the crawl as a whole ----------------------------------------------------------------------


def test_crawl_finishes(crawl):
    assert crawl.returncode == 0, crawl.log[-3000:]
    assert crawl.stats["finish_reason"] == "finished"


def test_log_holds_no_traceback(crawl):
    assert "Traceback" not in crawl.log
    assert not [line for line in crawl.log.splitlines() if "] ERROR:" in line]


def test_no_request_reaches_a_forbidden_address(crawl):
    assert [hit for hit in crawl.site.hits if hit.server.startswith("forbidden")] == []
    refused = [line for line in crawl.log.splitlines() if "[crawler.addressguard] WARNING: Refused" in line]
    assert len(refused) == 3  # two listed, one redirected to


def test_every_request_names_the_site_it_was_sent_to(crawl):
    assert {hit.host for hit in crawl.site.hits if hit.server == "main"} == {f"127.0.0.1:{crawl.site.servers['main'].port}"}


@pytest.mark.parametrize("path", [
    "good/provincial-budget-approved-today.html",
    "html/unclosed-and-misnested-tags-page.html",
    "html/nul-bytes-in-markup-page.html",
    "html/unrequestable-links-and-canonical-page.html",
    "http/reason-phrase-page.html",
    "http/too-many-requests-page.html",
])
def test_good_page_is_archived_as_an_article(crawl, path):
    assert path in crawl.records
    assert SENTENCES[0] in crawl.records[path]["text"]


# -- one line and one stat per bad input -------------------------------------------------------

BAD_INPUT = [
    # path, stat, words of its one log line
    ("/html/empty-page-case.html", "news/skipped/empty", "empty page"),
    ("/html/whitespace-only-page-case.html", "news/skipped/empty", "empty page"),
    ("/html/script-only-page-case.html", "extraction/no_text", "No article text"),
    ("/html/ten-thousand-levels-deep-page.html", "extraction/no_text", "No article text"),
    ("/html/hundred-thousand-nodes-page.html", "extraction/too_complex", "over EXTRACTION_MAX_ELEMENTS=30000"),
    ("/binary/pdf-served-as-html-page.html", "news/skipped/binary", "binary content"),
    ("/binary/random-bytes-as-html-page.html", "news/skipped/binary", "binary content"),
    ("/binary/png-without-content-type-page.html", "news/skipped/not_html", "not an HTML page"),
    ("/binary/gzip-bomb-page.html", "maxsize/decompression", "DOWNLOAD_MAXSIZE"),
    ("/binary/thirty-megabyte-page.html", "maxsize/truncated", "DOWNLOAD_MAXSIZE"),
    ("/redirect/loop-a-page.html", "errors/redirect_loop", "Redirect not followed (redirect_loop)"),
    ("/redirect/chain-1-page.html", "errors/too_many_redirects", "Redirect not followed (too_many_redirects)"),
    ("/redirect/javascript-location-page.html", "errors/bad_redirect", "is not http(s)"),
    ("/redirect/file-scheme-page.html", "errors/bad_redirect", "is not http(s)"),
    ("/redirect/bad-ipv6-location-page.html", "errors/bad_redirect", "does not appear to be an IPv4 or IPv6 address"),
    ("/redirect/port-too-large-page.html", "errors/bad_redirect", "Port out of range"),
    ("/redirect/empty-location-page.html", "errors/bad_redirect", "Location '': empty"),
    ("/redirect/no-location-page.html", "httperror/response_ignored_status_count/302", "Ignoring response <302"),
    ("/http/garbage-status-line-page.html", "errors/bad_response", "Download failed (bad_response, 1 attempt)"),
    ("/http/not-http-at-all-page.html", "errors/bad_response", "Download failed (bad_response, 1 attempt)"),
    ("/http/bad-content-length-page.html", "errors/bad_response", "Download failed (bad_response, 1 attempt)"),
    ("/http/bad-chunk-size-page.html", "errors/bad_response", "Download failed (bad_response, 1 attempt)"),
    ("/http/reset-mid-body-page.html", "errors/data_loss", "Download failed (data_loss, 3 attempts)"),
    ("/http/closed-mid-body-page.html", "errors/data_loss", "Download failed (data_loss, 3 attempts)"),
    ("/http/reset-before-answer-page.html", "errors/no_answer", "Download failed (no_answer, 3 attempts)"),
    ("/http/trickling-page.html", "errors/timeout", f"took longer than {TIMEOUT}"),
    ("/http/never-answers-page.html", "errors/timeout", f"took longer than {TIMEOUT}"),
    ("/http/service-unavailable-storm-page.html", "httperror/response_ignored_status_count/503", "Ignoring response <503"),
    ("/http/internal-error-page.html", "httperror/response_ignored_status_count/500", "Ignoring response <500"),
    ("/http/gone-page.html", "httperror/response_ignored_status_count/410", "Ignoring response <410"),
]


@pytest.mark.parametrize(("path", "stat", "words"), BAD_INPUT, ids=[case[0].rsplit("/", 1)[1] for case in BAD_INPUT])
def test_bad_input_gets_one_line_and_a_stat(crawl, path, stat, words):
    lines = [line for line in crawl.lines_about(path) if words in line]
    assert len(lines) == 1, crawl.lines_about(path)
    assert crawl.stats.get(stat, 0) >= 1
    assert path.lstrip("/") not in crawl.records


def test_malformed_http_is_not_retried(crawl):
    assert len(crawl.requests_for("/http/garbage-status-line-page.html")) == 1


def test_redirect_chain_stops_after_ten_hops(crawl):
    hops = [hit for hit in crawl.site.hits if hit.server == "main" and "/redirect/chain-" in hit.path]
    assert len(hops) == 11  # the first request and ten redirects
    assert "redirect/chain-15-page.html" not in crawl.records


def test_short_redirect_chain_is_followed(crawl):
    assert crawl.requests_for("/redirect/short-chain-2-page.html")
    assert crawl.requests_for("/good/bridge-opens-before-new-year.html")


def test_retry_after_is_waited_for(crawl):
    first, second = crawl.requests_for("/http/too-many-requests-page.html")
    assert second - first >= 2  # the server's Retry-After: 2
    assert crawl.stats["retry_after/honoured"] >= 1


def test_service_unavailable_storm_is_given_up_after_the_retries(crawl):
    assert len(crawl.requests_for("/http/service-unavailable-storm-page.html")) == 3  # RETRY_TIMES = 2


# -- charsets: the text as its author wrote it, in NFC ----------------------------------------

VIETNAMESE_TITLE = "Ngân sách tỉnh được thông qua"


@pytest.mark.parametrize("path", [
    "charset/header-latin1-meta-utf8-page.html",
    "charset/windows-1258-vietnamese-page.html",
    "charset/decomposed-vietnamese-nfd-page.html",
    "charset/unknown-charset-name-page.html",
])
def test_vietnamese_page_is_read_in_its_real_charset_as_nfc(crawl, path):
    record = crawl.records[path]
    assert record["title"] == VIETNAMESE_TITLE
    assert VIETNAMESE[0] in record["text"]
    assert unicodedata.is_normalized("NFC", record["text"])


def test_header_and_meta_charset_conflict_is_counted(crawl):
    assert crawl.stats["charset/header_meta_conflict"] == 1


def test_utf16_page_is_decoded(crawl):
    assert crawl.records["charset/utf-16-with-bom-page.html"]["title"] == "UTF-16 page"


def test_invalid_utf8_bytes_are_replaced_not_fatal(crawl):
    text = crawl.records["charset/invalid-utf8-bytes-page.html"]["text"]
    assert "\ufffd" in text
    assert "budget for schools" in text


# -- robots.txt (RFC 9309) --------------------------------------------------------------------


@pytest.mark.parametrize(("server", "crawled"), [
    ("robots-500", False), ("robots-503", False), ("robots-timeout", False), ("robots-reset", False),
    ("robots-404", True), ("robots-403", True), ("robots-huge", True), ("robots-disallow", False),
])
def test_robots_txt_answer_decides_whether_pages_are_crawled(crawl, server, crawled):
    assert bool(crawl.requests_for("/robots-case-page.html", server)) is crawled


def test_unreachable_robots_txt_gets_one_line_per_host(crawl):
    lines = [line for line in crawl.log.splitlines() if "is unreachable" in line]
    assert len(lines) == 4
    assert crawl.stats["robotstxt/unreachable"] == 4


def test_huge_robots_txt_is_read_up_to_its_limit(crawl):
    assert crawl.stats["robotstxt/truncated"] == 1


# -- traps ------------------------------------------------------------------------------------


def test_session_ids_do_not_make_new_pages(crawl):
    assert len(crawl.requests_for("/trap/session-id-page.html")) == 1
    assert [path for path in crawl.records if path.startswith("trap/session-id")] == ["trap/session-id-page.html"]


def test_url_over_the_length_limit_is_not_requested(crawl):
    assert not [hit for hit in crawl.site.hits if hit.path.startswith("/trap/long/")]
    assert crawl.stats["urllength/request_ignored_count"] == 1


def test_infinite_calendar_is_cut_at_the_listing_page_limit(site_crawl):
    assert site_crawl.returncode == 0, site_crawl.log[-3000:]
    calendar = [hit.path for hit in site_crawl.site.hits if hit.path.startswith("/trap/calendar/")]
    assert len(calendar) == 4  # the home page is listing page 1 of LISTING_MAX_PAGES = 5
    assert "good/provincial-budget-approved-today.html" in site_crawl.records
