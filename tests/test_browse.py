"""``scrapy browse``: the archive's articles, stories and versions as server-rendered pages, and its
pages replayed by pywb (crawler.browse, crawler/commands/browse.py, archiving/catalog.py).

The archive browsed is the demo's (every spider replaying the seed story), with a second version of
one article as a scheduled crawl would store it. The server runs as ``scrapy browse`` does, and a
real headless Chromium renders its pages; screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from archiving.catalog import Catalog, version_text
from archiving.storage import LocalStorage
from crawler.browse import story_graph, word_diff
from tests.helpers import BIN, ROOT
from tests.processes import descendants, wait_for
from tests.s3server import free_port, skip_or_fail_missing

SCREENSHOTS = ROOT / "test-output" / "screenshots"


# -- what the pages are made of -----------------------------------------------------------------


def test_a_word_diff_strikes_the_words_removed_and_marks_those_added():
    html = word_diff("The council approved the plan.", "The council rejected the plan on Tuesday.")
    assert html == "The council <del>approved</del><ins>rejected</ins> the <del>plan.</del><ins>plan on Tuesday.</ins>"


def test_a_word_diff_escapes_the_texts():
    assert word_diff("a <b>", "a <i>") == "a <del>&lt;b&gt;</del><ins>&lt;i&gt;</ins>"


def test_the_story_graph_links_each_original_to_the_others_and_draws_citations_dashed():
    members = [{"canonical_url": "o", "role": "original", "site": "a.vn", "language": "vi"},
               {"canonical_url": "t", "role": "translation", "site": "b.fr", "language": "fr"},
               {"canonical_url": "r", "role": "republication", "site": "c.vn", "language": "vi"}]
    svg = story_graph(members, [("t", "o")])
    assert svg.startswith("<svg") and svg.count("<rect") == 3 and svg.count("<line") == 2
    assert svg.count('stroke-dasharray="4 3"') == 1
    assert ">translation</text>" in svg and "b.fr · fr" in svg


def _record(url: str, text: str, version: int, site: str = "example.org", **extra) -> dict:
    return {"url": url, "canonical_url": url, "site": site, "spider": "news", "title": f"Title of {url}",
            "language": "en", "published": "2026-11-25T10:00:00+07:00", "text": text, "version": version,
            "fetched_at": f"2026-12-0{version}T10:00:00+00:00", "content_digest": f"d{version}", "story_id": None, **extra}


def test_the_catalog_lists_each_articles_versions_from_the_crawl_feeds(tmp_path):
    from archiving.layout import article_json, text_base

    storage = LocalStorage(str(tmp_path))
    url = "https://example.org/news/a-b-c-1.html"
    first, second = _record(url, "The council approved the plan.", 1), _record(url, "The council rejected it.", 2)
    storage.write_atomic(text_base("example.org", url) + ".json", article_json(second))
    storage.write_atomic("items/news/20261201T100000Z-aaaaaa.jsonl", (json.dumps(first) + "\n").encode())
    storage.write_atomic("items/news/20261202T100000Z-bbbbbb.jsonl", (json.dumps(second) + "\n").encode())
    catalog = Catalog.load(storage)
    [article] = catalog.articles
    versions = catalog.versions[article.path]
    assert [(v.version, v.crawl_id) for v in versions] == [(1, "20261201T100000Z-aaaaaa"), (2, "20261202T100000Z-bbbbbb")]
    assert version_text(storage, versions[0]).endswith("The council approved the plan.")
    assert article.warc_date == "20261202100000"


def test_the_catalog_selects_by_site_language_and_published_day(tmp_path):
    from archiving.layout import article_json, text_base

    storage = LocalStorage(str(tmp_path))
    for n, (site, language, day) in enumerate([("a.vn", "vi", "2026-11-01"), ("b.fr", "fr", "2026-11-20")]):
        url = f"https://{site}/news/x-y-z-{n}.html"
        storage.write_atomic(text_base(site, url) + ".json", article_json(
            _record(url, "text", 1, site=site, language=language, published=f"{day}T08:00:00+07:00")))
    catalog = Catalog.load(storage)
    assert [a.site for a in catalog.articles] == ["b.fr", "a.vn"]  # newest first
    assert [a.site for a in catalog.select(site="a.vn")] == ["a.vn"]
    assert [a.site for a in catalog.select(language="fr")] == ["b.fr"]
    assert [a.site for a in catalog.select(since="2026-11-10")] == ["b.fr"]
    assert [a.site for a in catalog.select(until="2026-11-10")] == ["a.vn"]


# -- the server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browsed_archive(demo_archive, tmp_path_factory) -> Path:
    """The demo archive, with a second version of one article as a scheduled crawl stores it."""
    archive = tmp_path_factory.mktemp("browse") / "archive"
    shutil.copytree(demo_archive, archive)
    record_path = sorted((archive / "text").rglob("*.json"))[0]
    record = json.loads(record_path.read_text())
    edited = {**record, "version": 2, "previous_digest": record["content_digest"], "content_digest": "edited",
              "text": record["text"].replace(".", ", officials said on Tuesday.", 1)}
    record_path.write_text(json.dumps(edited, ensure_ascii=False, indent=2))
    feed = archive / "items" / record["spider"] / "20991231T000000Z-edited.jsonl"
    feed.write_text(json.dumps(edited, ensure_ascii=False) + "\n")
    return archive


@pytest.fixture(scope="module")
def server(browsed_archive):
    port = free_port()
    env = {**os.environ, "ARCHIVE_URI": str(browsed_archive)}
    process = subprocess.Popen([str(BIN / "scrapy"), "browse", "-p", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers(base + "/"), timeout=60)
        assert process.poll() is None, process.stderr.read()
        wait_for(lambda: _answers(base + "/replay/"), timeout=60)  # pywb is up too
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(20)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500  # 502: the proxy's, pywb not up yet
    except OSError:
        return False


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read().decode("utf-8")


@pytest.mark.crawl
def test_the_front_page_lists_every_article_with_its_site_language_date_story_and_links(server, browsed_archive):
    base, _ = server
    front = get(base + "/")
    records = [json.loads(p.read_text()) for p in (browsed_archive / "text").rglob("*.json")]
    rows = re.findall(r"<tr><td><a href=\"/article/", front)
    assert len(rows) == len(records) <= 100
    for record in records:
        assert record["title"].replace("&", "&amp;").replace('"', "&quot;")[:30] in front.replace("&#x27;", "'")
    assert "<script" not in front
    assert front.count(">page</a>") == len(records) and front.count(">text</a>") == len(records)


@pytest.mark.crawl
def test_the_front_page_filters_by_site_and_language(server, browsed_archive):
    base, _ = server
    records = [json.loads(p.read_text()) for p in (browsed_archive / "text").rglob("*.json")]
    site = records[0]["site"]
    page = get(f"{base}/?site={site}")
    assert len(re.findall(r"<tr><td><a href=\"/article/", page)) == sum(r["site"] == site for r in records)
    french = get(f"{base}/?lang=fr")
    assert len(re.findall(r"<tr><td><a href=\"/article/", french)) == sum(r["language"] == "fr" for r in records) > 0


@pytest.mark.crawl
def test_a_story_page_draws_its_articles_roles_as_an_svg_graph(server, browsed_archive):
    base, _ = server
    stories = [json.loads(line) for line in (browsed_archive / "stories" / "index.jsonl").read_text().splitlines()]
    story = max(stories, key=lambda s: len(s["articles"]))
    page = get(f"{base}/story/{story['story_id']}")
    assert "<svg" in page and page.count("<rect") == len(story["articles"]) > 1
    assert {a["role"] for a in story["articles"]} <= set(re.findall(r"<td>(original|republication|translation|retelling)</td>", page))


@pytest.mark.crawl
def test_an_article_page_shows_the_words_changed_between_its_versions(server, browsed_archive):
    base, _ = server
    record_path = sorted((browsed_archive / "text").rglob("*.json"))[0]
    page = get(f"{base}/article/{record_path.parent.name}/{record_path.stem}")
    assert "version 1, fetched" in page and "version 2, fetched" in page
    assert any("officials said on Tuesday" in added for added in re.findall(r"<ins>(.*?)</ins>", page, re.S))


@pytest.mark.crawl
def test_the_clean_text_and_the_replayed_page_are_served(server, browsed_archive):
    base, _ = server
    record_path = sorted((browsed_archive / "text").rglob("*.json"))[-1]
    record = json.loads(record_path.read_text())
    text = get(f"{base}/text/{record_path.parent.name}/{record_path.stem}.txt")
    assert text == (record_path.with_suffix(".txt")).read_text()
    front = get(base + "/")
    replay = re.search(rf'href="(/replay/\d+/{re.escape(record["url"])})"', front.replace("&amp;", "&"))[1]
    page = get(base + replay)
    assert record["title"][:40] in page.replace("&#x27;", "'")


@pytest.mark.crawl
def test_the_text_route_serves_no_file_outside_the_archives_texts(server, browsed_archive):
    base, _ = server
    (browsed_archive.parent / "secret.txt").write_text("not for the browser")
    for path in ("/text/a/..%2F..%2F..%2Fsecret.txt", "/text/..%2F..%2Fsecret.txt", "/text/a/%2E%2E/secret.txt"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(base + path)
        assert refused.value.code == 404, path


@pytest.mark.crawl
def test_a_request_for_another_host_name_is_refused(server):
    base, _ = server
    request = urllib.request.Request(base + "/", headers={"Host": "attacker.example:80"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


@pytest.mark.crawl
def test_chromium_renders_the_front_page_a_story_and_a_replayed_article(server, browsed_archive, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        skip_or_fail_missing(RuntimeError("chromium not found: make test installs it with apt-get when root"))
    base, _ = server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def render(url: str, name: str) -> str:
        common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                  f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]
        subprocess.run([*common, f"--screenshot={SCREENSHOTS / name}", url], capture_output=True, timeout=120)
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
        assert (SCREENSHOTS / name).stat().st_size > 10_000
        return dom.stdout

    front = render(base + "/", "front-page.png")
    assert "Archived articles" in front and "<table>" in front
    stories = [json.loads(line) for line in (browsed_archive / "stories" / "index.jsonl").read_text().splitlines()]
    largest = max(stories, key=lambda s: len(s["articles"]))
    story_link = f"/story/{largest['story_id']}"
    assert story_link in front  # reached from the front page
    story = render(base + story_link, "story.png")
    assert "<svg" in story and story.count("<rect") == len(largest["articles"])
    replay_link = re.search(r'href="(/replay/\d+/[^"]+)"', front)[1].replace("&amp;", "&")
    record = next(json.loads(p.read_text()) for p in (browsed_archive / "text").rglob("*.json")
                  if replay_link.endswith(json.loads(p.read_text())["url"]))
    replayed = render(base + replay_link, "replayed-article.png")
    assert record["title"][:40] in replayed.replace("&#x27;", "'").replace("&amp;", "&")


@pytest.mark.crawl
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_ends_the_server_and_pywb_within_seconds_without_a_traceback(browsed_archive, stop):
    port = free_port()
    process = subprocess.Popen([str(BIN / "scrapy"), "browse", "-p", str(port)], cwd=ROOT,
                               env={**os.environ, "ARCHIVE_URI": str(browsed_archive)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/replay/"), timeout=60)
    children = [p.pid for p in descendants(process.pid) if p.pid != process.pid]
    assert children  # pywb
    started = time.monotonic()
    process.send_signal(stop)
    out, err = process.communicate(timeout=10)
    assert time.monotonic() - started < 10
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err
    wait_for(lambda: not [pid for pid in children if Path(f"/proc/{pid}").exists()], timeout=10)


@pytest.mark.crawl
def test_an_s3_archive_is_browsed_and_replayed_from_the_bucket(s3, demo_archive, tmp_path):
    from tests.s3server import unique_bucket_name

    bucket = s3.create_bucket(unique_bucket_name("browse"))
    env = {**{k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY")}, **s3.env(),
           "SPOOL_DIR": str(tmp_path / "spool"), "EXTRACTION_WORKERS": "1"}
    made = subprocess.run([str(BIN / "python"), "-m", "crawler.demo", "--replay", "tests/fixtures",
                           "--archive", f"s3://{bucket}/news"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    port = free_port()
    process = subprocess.Popen([str(BIN / "scrapy"), "browse", "-p", str(port)], cwd=ROOT,
                               env={**env, "ARCHIVE_URI": f"s3://{bucket}/news"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers(base + "/replay/"), timeout=60)
        assert process.poll() is None, process.stderr.read()
        front = get(base + "/")
        articles = len(list((demo_archive / "text").rglob("*.json")))
        assert len(re.findall(r"<tr><td><a href=\"/article/", front)) == articles
        replay = re.search(r'href="(/replay/\d+/[^"]+)"', front)[1].replace("&amp;", "&")
        title = re.search(r'<tr><td><a href="/article/[^"]+">([^<]+)</a>', front)[1]
        assert title.replace("&#x27;", "'")[:40] in get(base + replay).replace("&#x27;", "'")
    finally:
        process.terminate()
        process.wait(20)
