"""Scheduled crawls fetch only what is new or changed: a real nginx on loopback (ETag,
Last-Modified, 304) serving a small news site with a sitemap, crawled three times."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.incremental import RecheckPolicy, duration
from crawler.state import PageState
from tests.helpers import BIN, ROOT, run_scrapy
from tests.nginx import Nginx, NginxMissing
from tests.warc_checks import validate_warcs

LIVE = ["-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
        "-s", "RELATED_DEPTH=1"]
ARTICLE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="{published}"></head>
<body><nav><a href="/">Home</a></nav><article><h1>{title}</h1>{paragraphs}</article>
<aside><h2>Related</h2>{related}</aside><footer>Loopback Daily</footer></body></html>"""
SENTENCES = [
    "The provincial council approved the new budget for schools and hospitals on Tuesday.",
    "Officials said the bridge over the river would open to traffic before the end of the year.",
    "Farmers in the delta expect a larger rice harvest after a season of steady rain.",
    "The port handled a record number of containers in the third quarter, the authority said.",
]


def slug(n: int) -> str:
    return f"news/council-approves-budget-story-{n}.html"


def write_article(site: Path, n: int, edition: str = "") -> None:
    paragraphs = "".join(f"<p>{SENTENCES[(n + i) % 4]} Story {n}, paragraph {i + 1}.{edition}</p>" for i in range(6))
    related = "".join(f'<a href="/{slug(m)}">Story {m}</a>' for m in (n - 1, n + 1) if m >= 0)
    (site / slug(n)).write_text(ARTICLE.format(title=f"Council approves budget, story {n}", paragraphs=paragraphs,
                                               related=related, published="2026-12-06T08:00:00+07:00"))


def write_sitemap(site: Path, entries: dict[int, str]) -> None:
    urls = "".join(f"<url><loc>BASE/{slug(n)}</loc><lastmod>{lastmod}</lastmod></url>" for n, lastmod in entries.items())
    (site / "sitemap.xml.in").write_text(f'<?xml version="1.0" encoding="UTF-8"?>'
                                         f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


@pytest.fixture
def nginx_site(tmp_path):
    site = tmp_path / "site"
    (site / "news").mkdir(parents=True)
    for n in range(6):
        write_article(site, n)
    write_sitemap(site, {n: "2026-12-06T08:00:00+07:00" for n in range(6)})
    try:
        server = Nginx(site, tmp_path / "nginx").__enter__()
    except NginxMissing as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    publish_sitemap(site, server.base)
    (site / "robots.txt").write_text(f"User-agent: *\nAllow: /\nSitemap: {server.base}/sitemap.xml\n")
    (site / "index.html").write_text("<html><body>" + "".join(f'<a href="/{slug(n)}">{n}</a>' for n in range(3)) + "</body></html>")
    yield site, server
    server.__exit__()


def publish_sitemap(site: Path, base: str) -> None:
    (site / "sitemap.xml").write_text((site / "sitemap.xml.in").read_text().replace("BASE", base))


def crawl(tmp_path, server, *extra: str) -> dict:
    stats = tmp_path / "stats.json"
    result = run_scrapy(["crawl", "news", "-a", f"site={server.base}/", "-s", f"ARCHIVE_URI={tmp_path / 'archive'}",
                         "-s", f"STATS_FILE={stats}", *LIVE, *extra])
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(stats.read_text())


def texts(archive: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in archive.glob("text/*/*")}


def warc_records(archive: Path) -> list:
    found = []
    for path in sorted(archive.glob("warc/*/*.warc.gz")):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                found.append((record.rec_type, record.rec_headers, record.content_stream().read()))
    return found


@pytest.mark.crawl
def test_second_crawl_of_an_unchanged_site_fetches_nothing_in_full_and_writes_no_text(nginx_site, tmp_path):
    site, server = nginx_site
    first = crawl(tmp_path, server)
    assert first["textstore/written"] == 6
    archive = tmp_path / "archive"
    before, mark, warcs_before = texts(archive), server.mark(), len(warc_records(archive))

    second = crawl(tmp_path, server)
    print(f"run 1: {first['downloader/request_count']} requests, {first['downloader/response_bytes']} bytes; "
          f"run 2: {second['downloader/request_count']} requests, {second['downloader/response_bytes']} bytes")
    answered = [(status, path) for status, path in server.requests()[mark:] if path != "/robots.txt"]
    # The sitemap and the home page are confirmed unchanged; they list nothing, so no article is asked for.
    assert sorted(answered) == [(304, "/"), (304, "/sitemap.xml")]
    assert second.get("textstore/written", 0) == 0 and second["incremental/not_modified"] == 2
    assert texts(archive) == before
    feeds = sorted(archive.glob("items/news/*.jsonl"))
    assert [f for f in feeds if not f.name.endswith(".stories.jsonl")][-1].read_text() == ""

    # Every 304 is a server-not-modified revisit of the capture it confirms.
    new = warc_records(archive)[warcs_before:]
    revisits = [h for kind, h, _ in new if kind == "revisit" and h.get_header("WARC-Profile").endswith("/server-not-modified")]
    assert sorted(h.get_header("WARC-Target-URI") for h in revisits) == [f"{server.base}/", f"{server.base}/sitemap.xml"]
    responses = {h.get_header("WARC-Record-ID"): h for kind, h, _ in warc_records(archive) if kind == "response"}
    for headers in revisits:
        assert headers.get_header("WARC-Profile") == "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
        original = responses[headers.get_header("WARC-Refers-To")]
        assert original.get_header("WARC-Target-URI") == headers.get_header("WARC-Refers-To-Target-URI")
        assert original.get_header("WARC-Date") == headers.get_header("WARC-Refers-To-Date")
        assert original.get_header("WARC-Payload-Digest") == headers.get_header("WARC-Payload-Digest")
    kept = [fields for kind, h, fields in new if kind == "metadata" and b"http-status-line" in fields]
    assert len(kept) == len(answered) and all(b"HTTP/1.1 304 Not Modified" in f and b"etag: \"" in f.lower() for f in kept)


@pytest.mark.crawl
def test_articles_a_regenerated_sitemap_lists_unchanged_are_skipped_by_policy(nginx_site, tmp_path):
    site, server = nginx_site
    crawl(tmp_path, server)
    publish_sitemap(site, server.base)  # the CMS rewrites it: a new ETag, the same entries
    os.utime(site / "sitemap.xml", (1, 2_000_000_000))
    mark = server.mark()
    second = crawl(tmp_path, server)
    assert second["incremental/skipped_by_policy"] == 6
    assert not [path for _, path in server.requests()[mark:] if path.startswith("/news/")]


@pytest.mark.crawl
def test_a_changed_page_and_a_new_page_are_the_only_texts_of_the_third_crawl(nginx_site, tmp_path):
    site, server = nginx_site
    crawl(tmp_path, server)
    crawl(tmp_path, server)
    archive = tmp_path / "archive"
    before = texts(archive)

    write_article(site, 2, edition=" Updated at noon.")
    write_article(site, 6)
    edited = datetime.now(timezone.utc).isoformat(timespec="seconds")  # after the last crawl
    write_sitemap(site, {**{n: "2026-12-06T08:00:00+07:00" for n in range(6)}, 2: edited, 6: edited})
    publish_sitemap(site, server.base)
    third = crawl(tmp_path, server)

    changed = {name for name, mtime in texts(archive).items() if before.get(name) != mtime}
    assert len(changed) == 4 and third["textstore/written"] == 2  # two articles: text and record each
    records = {json.loads(p.read_text())["url"].rsplit("/", 1)[-1]: json.loads(p.read_text())
               for p in archive.glob("text/*/*.json")}
    assert records["council-approves-budget-story-2.html"]["version"] == 2
    assert records["council-approves-budget-story-2.html"]["text"].count("Updated at noon.") == 6
    assert records["council-approves-budget-story-6.html"]["version"] == 1
    assert third["incremental/due_by_lastmod"] == 1


@pytest.mark.crawl
def test_pywb_replays_a_304_revisit_as_the_page_it_confirms(nginx_site, tmp_path):
    site, server = nginx_site
    crawl(tmp_path, server)
    crawl(tmp_path, server)
    (tmp_path / "check").mkdir()
    report = validate_warcs(tmp_path / "archive" / "warc", [f"{server.base}/"], tmp_path / "check")
    assert report.failures == []
    assert report.record_types.get("revisit", 0) >= 2


@pytest.mark.crawl
def test_recrawl_fetches_everything_in_full(nginx_site, tmp_path):
    site, server = nginx_site
    crawl(tmp_path, server)
    mark = server.mark()
    again = crawl(tmp_path, server, "-s", "RECRAWL=True")
    assert {status for status, _ in server.requests()[mark:]} == {200}
    assert again.get("incremental/skipped_by_policy", 0) == 0 and again["textstore/unchanged"] == 6


def test_recheck_intervals_grow_and_stop_at_the_maximum_age():
    policy = RecheckPolicy((duration("1h"), duration("6h"), duration("24h"), duration("7d")), duration("30d"))
    page = PageState(key="k", changed_at=0.0)
    schedule = []
    for checks in range(5):
        page.checks = checks
        schedule.append(policy.next_check(page, 0.0) / 3600)
    assert schedule == [1, 6, 24, 168, 168]
    page.published = 0.0
    assert policy.next_check(page, duration("31d")) is None


def test_durations_read_seconds_minutes_hours_days_and_weeks():
    assert [duration(v) for v in ("90", "15m", "6h", "2d", "1w")] == [90, 900, 21600, 172800, 604800]
    with pytest.raises(ValueError, match="not a duration"):
        duration("soon")


def gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


@pytest.mark.crawl
def test_a_crawl_killed_midway_is_completed_by_the_next(nginx_site, tmp_path):
    site, server = nginx_site
    archive = tmp_path / "archive"
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY")}
    killed = subprocess.Popen([str(BIN / "scrapy"), "crawl", "news", "-a", f"site={server.base}/",
                               "-s", f"ARCHIVE_URI={archive}", *LIVE, "-s", "DOWNLOAD_DELAY=0.4",
                               "-s", "CONCURRENT_REQUESTS=1"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(archive.glob("text/*/*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert 2 <= len(list(archive.glob("text/*/*.json"))) < 6

    crawl(tmp_path, server)
    records = [json.loads(p.read_text()) for p in archive.glob("text/*/*.json")]
    assert sorted(r["url"].rsplit("-", 1)[-1] for r in records) == [f"{n}.html" for n in range(6)]
    assert all(r["version"] == 1 for r in records)
    assert list(archive.rglob("*.open")) == [] and list(archive.rglob(".*.tmp")) == []


def records_by_name(archive: Path) -> dict[str, dict]:
    return {json.loads(p.read_text())["url"].rsplit("/", 1)[-1]: json.loads(p.read_text()) for p in archive.glob("text/*/*.json")}


@pytest.mark.crawl
def test_an_article_no_list_names_any_more_still_gets_its_rechecks(nginx_site, tmp_path):
    site, server = nginx_site
    quick = ("-s", "RECHECK_INTERVALS=1s")
    crawl(tmp_path, server, *quick)
    write_article(site, 5, edition=" Corrected.")
    write_sitemap(site, {n: "2026-12-06T08:00:00+07:00" for n in range(5)})  # story 5 is listed no more
    publish_sitemap(site, server.base)
    time.sleep(1.2)
    second = crawl(tmp_path, server, *quick)
    assert records_by_name(tmp_path / "archive")["council-approves-budget-story-5.html"]["version"] == 2
    assert second["incremental/rechecked_due"] >= 1


@pytest.mark.crawl
def test_a_page_fetched_but_not_processed_is_fetched_in_full_again(nginx_site, tmp_path):
    site, server = nginx_site
    quick = ("-s", "RECHECK_INTERVALS=1s")
    crawl(tmp_path, server, *quick)
    write_article(site, 2, edition=" Updated at noon.")
    # A crawl that fetches the changed page but never stores its text (as a crash after the fetch would).
    crawl(tmp_path, server, *quick, "-s", "EXTRACTION_ENABLED=False")
    time.sleep(1.2)
    mark = server.mark()
    crawl(tmp_path, server, *quick)
    assert (200, f"/{slug(2)}") in server.requests()[mark:]
    assert records_by_name(tmp_path / "archive")["council-approves-budget-story-2.html"]["version"] == 2


@pytest.mark.crawl
def test_a_moved_article_is_fetched_at_its_new_url_not_confirmed_by_the_old_ones_validators(nginx_site, tmp_path):
    site, server = nginx_site
    crawl(tmp_path, server)
    moved = "news/council-approves-budget-story-1-moved.html"
    # Same size and time as the old page, so the same nginx ETag: only headers made for this URL are safe.
    (site / moved).write_text((site / slug(1)).read_text().replace("paragraph 1.", "paragraph 9."))
    old = (site / slug(1)).stat()
    os.utime(site / moved, (old.st_atime, old.st_mtime))
    server.redirect(f"/{slug(1)}", f"/{moved}")
    edited = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_sitemap(site, {**{n: "2026-12-06T08:00:00+07:00" for n in range(6)}, 1: edited})
    publish_sitemap(site, server.base)
    mark = server.mark()
    second = crawl(tmp_path, server)
    assert (200, f"/{moved}") in server.requests()[mark:]
    assert "council-approves-budget-story-1-moved.html" in records_by_name(tmp_path / "archive")
    assert second.get("warc/not_modified_revisits", 0) <= 2  # the sitemap and home only, never the moved page
    third = crawl(tmp_path, server)  # the redirect is known: not a new article every run
    assert third.get("incremental/listed_new", 0) == 0
