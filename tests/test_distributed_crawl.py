"""Three worker processes share one crawl through a real redis-server and write one archive.

The site (tests/gridsite.py) is on loopback and logs every request it receives. Proofs:

- 1,500 articles, three workers: each article fetched once, archived once (one ``response``
  record, one text, one JSON), every WARC valid and replayable; while they run, a single crawl
  and a crawl of another Redis prefix into the same archive are refused (exit status 4);
- ``kill -9`` of a worker mid-crawl: its leased requests come back to the queue, the worker
  started in its place repairs its ``.open`` WARC, and still every article is archived once;
- a per-host rate limit holds across the workers, measured at the server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiving.layout import TEXT_DIR
from tests.gridsite import article_path
from tests.helpers import BIN, ROOT
from tests.processes import wait_for
from tests.redisserver import start_or_skip
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl

EXIT_LOCKED = 4


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = start_or_skip(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


class Site:
    def __init__(self, folder: Path, articles: int, latency: float = 0.0) -> None:
        self.folder, self.articles = folder, articles
        self.log = folder / "requests.log"
        portfile = folder / "port"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.gridsite", str(portfile), str(self.log), "--articles", str(articles),
             "--latency", str(latency)], cwd=ROOT)
        wait_for(lambda: portfile.exists() and portfile.read_text(), timeout=30)
        self.base = f"http://127.0.0.1:{portfile.read_text()}"

    def requests(self) -> list[tuple[float, str]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [(float(at), path) for at, path in (line.split(" ", 1) for line in lines)]

    def article_requests(self) -> list[tuple[float, str]]:
        return [(at, path) for at, path in self.requests() if path.startswith("/news/")]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def site_factory(tmp_path):
    sites = []

    def make(articles: int, latency: float = 0.0) -> Site:
        folder = tmp_path / f"site{len(sites)}"
        folder.mkdir()
        sites.append(Site(folder, articles, latency))
        return sites[-1]

    yield make
    for site in sites:
        site.stop()


def worker(site: Site, archive: Path, redis_url: str, log: Path, *settings: str, start: str = "") -> subprocess.Popen:
    """A worker of the site's crawl: from its robots.txt sitemaps, or from ``start`` (``-a`` argument)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY", "REDIS_URL")}
    args = [str(BIN / "scrapy"), "crawl", "news", "-a", start or f"site={site.base}/", "-s", f"ARCHIVE_URI={archive}",
            "-s", f"REDIS_URL={redis_url}", "-s", "EXTRACTION_WORKERS=1", "-s", "REDIS_LEASE=4",
            "-s", "HOST_RATE_LIMIT=0", "-s", "HOST_CONCURRENCY_LIMIT=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1",
            *settings]
    with log.open("w") as err:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)


def finish(processes: list[subprocess.Popen], timeout: float = 600) -> list[int]:
    deadline = time.monotonic() + timeout
    for process in processes:
        process.wait(max(1, deadline - time.monotonic()))
    return [process.returncode for process in processes]


def captures(archive: Path) -> Counter[tuple[str, str]]:
    """(record type, path) of every response and revisit in the archive's WARCs."""
    found: Counter[tuple[str, str]] = Counter()
    for path in sorted((archive / "warc").rglob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type in ("response", "revisit"):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    found[record.rec_type, "/" + uri.split("/", 3)[3]] += 1
    return found


def texts(archive: Path) -> Counter[str]:
    """Text and JSON files by article file name (without suffix)."""
    return Counter(path.name.rsplit(".", 1)[0] for path in (archive / TEXT_DIR).rglob("*") if path.suffix in (".txt", ".json"))


def valid_and_replayable(archive: Path, urls: list[str], workdir: Path) -> None:
    workdir.mkdir()
    report = validate_warcs(archive / "warc", urls, workdir)
    assert report.failures == []


def every_article_once(site: Site, archive: Path) -> None:
    found = captures(archive)
    responses = Counter({path: n for (kind, path), n in found.items() if kind == "response" and path.startswith("/news/")})
    expected = {article_path(n) for n in range(1, site.articles + 1)}
    assert set(responses) == expected, f"missing: {sorted(expected - set(responses))[:5]}"
    assert [path for path, n in responses.items() if n > 1] == []
    files = texts(archive)
    assert len(files) == site.articles
    assert set(files.values()) == {2}  # one .txt and one .json each
    assert not list(archive.rglob("*.open"))


def summaries(archive: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in (archive / "items" / "news").glob("*.summary.json")]


def test_three_workers_archive_every_page_exactly_once(redis_server, site_factory, tmp_path):
    redis_server.flush()
    site = site_factory(1500)
    archive = tmp_path / "archive"
    workers = [worker(site, archive, redis_server.url, tmp_path / f"worker{n}.log") for n in range(3)]
    wait_for(lambda: len(site.article_requests()) >= 100, timeout=120)
    watched = subprocess.run([str(BIN / "scrapy"), "workers", "news", "--json", "-s", f"REDIS_URL={redis_server.url}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    # While they run: the archive is this distributed crawl's alone.
    single = subprocess.run([str(BIN / "scrapy"), "crawl", "news", "-a", f"site={site.base}/", "-s", f"ARCHIVE_URI={archive}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    other = subprocess.run([str(BIN / "scrapy"), "crawl", "news", "-a", f"site={site.base}/", "-s", f"ARCHIVE_URI={archive}",
                            "-s", f"REDIS_URL={redis_server.url}", "-s", "REDIS_KEY_PREFIX=another-crawl"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    codes = finish(workers)
    logs = "\n".join((tmp_path / f"worker{n}.log").read_text()[-3000:] for n in range(3))
    assert codes == [0, 0, 0], logs
    assert single.returncode == EXIT_LOCKED, single.stderr[-2000:]
    assert other.returncode == EXIT_LOCKED and "another distributed crawl" in other.stderr, other.stderr[-2000:]
    report = json.loads(watched.stdout)
    assert len(report["workers"]) == 3 and report["run"], report
    assert report["seen"] > 100 and "127.0.0.1:" + site.base.rsplit(":", 1)[1] in report["hosts"], report

    fetched = Counter(path for _, path in site.article_requests())
    assert len(fetched) == 1500 and max(fetched.values()) == 1  # no page fetched twice
    every_article_once(site, archive)
    # Each worker did part of it, and the last to leave ended the run.
    done = summaries(archive)
    assert len(done) == 3 and len({s["distributed"]["run"] for s in done}) == 1
    assert all(s["articles"]["new"] > 100 for s in done), [s["articles"] for s in done]
    assert sum(s["articles"]["new"] for s in done) == 1500
    assert [s["distributed"]["ended_run"] for s in done].count(True) == 1
    assert not redis_server.client().exists("news-archiver:news:seen")
    # The story index, updated by each worker as it ended, lost no worker's articles.
    described = [json.loads(line) for line in (archive / "stories" / "features.jsonl").read_text().splitlines()]
    assert len(described) == len({d["key"] for d in described}) == 1500
    sample = [site.base + article_path(n) for n in range(1, 1501, 50)]
    valid_and_replayable(archive, sample, tmp_path / "validate")


def test_a_worker_killed_mid_crawl_loses_nothing_and_its_warc_is_repaired(redis_server, site_factory, tmp_path):
    redis_server.flush()
    site = site_factory(600, latency=0.05)
    archive = tmp_path / "archive"
    workers = [worker(site, archive, redis_server.url, tmp_path / f"worker{n}.log") for n in range(3)]
    victim = workers[1]
    # Mid-crawl, and the victim is writing: its WARC (named by its host and pid) is open.
    wait_for(lambda: len(site.article_requests()) >= 150 and list(archive.rglob(f"*-{victim.pid}.warc.gz.open")),
             timeout=120)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(10)
    # Its replacement (systemd's Restart=, or an operator) repairs what the killed one left.
    workers.append(worker(site, archive, redis_server.url, tmp_path / "worker3.log"))
    codes = finish([workers[0], workers[2], workers[3]])
    logs = "\n".join((tmp_path / f"worker{n}.log").read_text()[-3000:] for n in (0, 2, 3))
    assert codes == [0, 0, 0], logs
    assert "Repaired" in (tmp_path / "worker3.log").read_text()

    every_article_once(site, archive)
    summaries_ = summaries(archive)
    requeued = sum(s["distributed"]["requeued_from_dead_workers"] for s in summaries_)
    fetched_again = sum(n - 1 for n in Counter(path for _, path in site.article_requests()).values())
    assert requeued >= 1, "the killed worker held requests: they must come back"
    assert fetched_again <= requeued
    sample = [site.base + article_path(n) for n in range(1, 601, 25)]
    valid_and_replayable(archive, sample, tmp_path / "validate")


def test_a_per_host_rate_limit_holds_across_the_workers(redis_server, site_factory, tmp_path):
    redis_server.flush()
    site = site_factory(300)
    archive = tmp_path / "archive"
    limit = 20.0
    workers = [worker(site, archive, redis_server.url, tmp_path / f"worker{n}.log", "-s", f"HOST_RATE_LIMIT={limit}",
                      "-s", "EXTRACTION_ENABLED=false", "-s", "WARC_ENABLED=false") for n in range(3)]
    codes = finish(workers)
    assert codes == [0, 0, 0], (tmp_path / "worker0.log").read_text()[-3000:]
    arrivals = sorted(at for at, _ in site.requests())
    # Over the crawl's steady part (all three workers started): every request, whatever its path.
    steady = arrivals[30:]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert limit * 0.9 <= rate <= limit * 1.1, rate
    # Nor is any second faster than the limit allows (a burst would hide in an average).
    per_second = Counter(int(at) for at in steady[1:-1])
    assert max(per_second.values()) <= limit * 1.1 + 1


def test_urls_pushed_while_a_worker_runs_are_crawled(redis_server, site_factory, tmp_path):
    redis_server.flush()
    site = site_factory(40)
    archive = tmp_path / "archive"
    client = redis_server.client()
    # Started on one article only; it waits for pushed URLs once that is done.
    running = worker(site, archive, redis_server.url, tmp_path / "worker.log", "-s", "REDIS_IDLE_CLOSE=6",
                     start=f"url={site.base}{article_path(1)}")
    wait_for(lambda: any(path == article_path(1) for _, path in site.requests()), timeout=60)
    client.rpush("news-archiver:news:start_urls", json.dumps({"url": f"{site.base}/sitemap.xml", "kind": "sitemap"}),
                 "ftp://example.org/not-http", f"{site.base}{article_path(40)}")
    assert finish([running], timeout=180) == [0], (tmp_path / "worker.log").read_text()[-3000:]
    assert len(texts(archive)) == 40
    log = (tmp_path / "worker.log").read_text()
    assert "Refused a start URL pushed to news-archiver:news:start_urls: 'ftp://example.org/not-http'" in log


def test_the_next_run_of_a_distributed_crawl_asks_for_lists_again_and_not_for_articles_not_due(redis_server, site_factory,
                                                                                              tmp_path):
    redis_server.flush()
    site = site_factory(30)
    archive = tmp_path / "archive"
    first = [worker(site, archive, redis_server.url, tmp_path / f"first{n}.log") for n in range(2)]
    assert finish(first) == [0, 0]
    assert len(texts(archive)) == 30
    asked_before = len(site.requests())
    again = worker(site, archive, redis_server.url, tmp_path / "again.log")
    assert finish([again]) == [0], (tmp_path / "again.log").read_text()[-3000:]
    asked = [path for _, path in site.requests()[asked_before:]]
    assert "/sitemap.xml" in asked  # a new run: its seen set is new
    assert not [path for path in asked if path.startswith("/news/")]  # the shared crawl state: none is due
