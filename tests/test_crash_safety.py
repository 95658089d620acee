"""Crashes lose nothing, and no process outlives its crawl.

A replayed crawl with a job folder (JOBDIR) killed with ``kill -9`` at 20 random moments of its
measured duration, and resumed each time, ends with the archive one uninterrupted crawl gives:
every article once (one text, one record, one line across the items feeds of all its runs),
valid WARCs whose records every article record can name, and nothing partial left.

"Exactly once" is about articles, not exchanges: a page that was in flight, or fetched but not
yet stored, when a run died is fetched again by the next, so the WARCs may hold a second capture
of it (a revisit record when the payload is the same). That is a true record of what the crawler
did; the article it gives is stored and listed once.

A crawl that ends in any other way (finished, SIGINT, SIGTERM, a component that raises) leaves
no extraction worker and no resource tracker behind either (``kill -9`` of the crawl alone is
in tests/test_scheduled.py; here every one of the 20 kills is checked too).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from scrapy import Request
from warcio.archiveiterator import ArchiveIterator

from archiving.layout import article_text
from tests.helpers import BIN, ROOT, item_feeds
from tests.processes import processes, wait_for
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl

SPIDER = "vietnamplus"
REPLAYED = ["crawl", SPIDER, "-s", "REPLAY=tests/fixtures", "-s", "EXTRACTION_WORKERS=2"]
SLOW = ["-s", "DOWNLOAD_DELAY=0.15", "-s", "CONCURRENT_REQUESTS=1", "-s", "EXTRACTION_WORKERS=1"]
KILLS = 20
SEED = 12


# -- processes -------------------------------------------------------------------------------


def start(args: list[str], log: Path) -> subprocess.Popen:
    """``scrapy <args>`` as its own process group (a session), as a terminal or systemd starts it."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY")}
    env["PYTHONPATH"] = str(ROOT)  # tests.faulty_components, before any other "tests" package
    with log.open("w") as err:
        return subprocess.Popen([str(BIN / "scrapy"), *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)


def group(pgid: int) -> dict[int, str]:
    """Live processes of a process group, by pid: the crawl and all it started."""
    return {process.pid: process.cmdline[:160] for process in processes().values() if process.pgid == pgid}


def workers(pgid: int) -> dict[int, str]:
    return {pid: cmd for pid, cmd in group(pgid).items() if "multiprocessing" in cmd}


def workers_while_running(crawl: subprocess.Popen) -> set[int]:
    """The extraction workers (and resource tracker) a crawl ran, seen until it exits."""
    seen: set[int] = set()
    while crawl.poll() is None:
        seen.update(workers(crawl.pid))
        time.sleep(0.02)
    return seen


def left_behind(crawl: subprocess.Popen) -> dict[int, str]:
    """Once the crawl has exited: what of its process group is still running (then ended, so no
    test leaves it running). Workers end with their crawl: a few seconds' grace, never needed."""
    crawl.wait(timeout=300)
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not group(crawl.pid), timeout=10)
    left = group(crawl.pid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def texts(archive: Path) -> list[Path]:
    return sorted(archive.glob("text/*/*.json"))


# -- 20 kills, then a final run ----------------------------------------------------------------


@dataclass
class Run:
    moment: float  # seconds after its start at which it was to be killed
    killed: bool
    exit_status: int | None
    phase: str  # how far its log got: starting, crawling, closing
    texts_written: int
    pending_at_start: int  # requests that earlier runs left pending (the job folder's journal)
    left_behind: dict[int, str] = field(default_factory=dict)


@dataclass
class KilledJob:
    reference: Path
    archive: Path
    workdir: Path
    runs: list[Run]
    final_status: int


def phase_of(log: str) -> str:
    return "closing" if "Closing spider" in log else "crawling" if "Spider opened" in log else "starting"


def pending_at_start(log: str) -> int:
    marker = "requests pending from earlier runs"
    line = next((line for line in log.splitlines() if marker in line), None)
    return int(line.split(": ")[-1].split()[0]) if line else 0


@pytest.fixture(scope="module")
def killed_job(tmp_path_factory) -> KilledJob:
    """An uninterrupted crawl, and the same crawl killed 20 times at random moments, resumed each time."""
    base = tmp_path_factory.mktemp("killed")
    reference, log = base / "reference", base / "reference.log"
    began = time.monotonic()
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={reference}"], log)
    wait_for(lambda: "Spider opened" in log.read_text() or crawl.poll() is not None)
    opened = time.monotonic() - began
    assert crawl.wait(timeout=300) == 0, log.read_text()[-3000:]
    duration = time.monotonic() - began

    archive, job = base / "archive", base / "job"
    resumable = [*REPLAYED, "-s", f"ARCHIVE_URI={archive}", "-s", f"JOBDIR={job}"]
    # Moments spread over the crawl's measured duration, from its spider's opening (before, Python is
    # importing) to its end, in order: each run resumes what the runs before left and dies a little
    # further on (fetching, extracting, storing, closing). Once a run has completed the job, the crawl
    # is a short one (recovery, robots.txt, closing, the story index): the moments left are spread
    # over its new duration, so that every one of the 20 kills lands in a running crawl.
    rng = random.Random(SEED)
    window = (opened, duration)
    moments = sorted(rng.uniform(*window) for _ in range(KILLS))
    runs: list[Run] = []
    while moments and len(runs) < 2 * KILLS:
        moment = moments.pop(0)
        log = base / f"run-{len(runs):02}.log"
        before = len(texts(archive))
        began_run = time.monotonic()
        crawl = start(resumable, log)
        try:
            crawl.wait(timeout=moment)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(crawl.pid, signal.SIGKILL)  # the crawl alone: its workers must end by themselves
            killed = True
        left = left_behind(crawl)
        text = log.read_text()
        runs.append(Run(moment, killed, None if killed else crawl.returncode, phase_of(text),
                        len(texts(archive)) - before, pending_at_start(text), left))
        if not killed:
            lasted = time.monotonic() - began_run
            window = (min(opened, lasted / 2), lasted)
            moments = sorted(rng.uniform(*window) for _ in range(len(moments) + 1))
    final = start(resumable, base / "final.log")
    final_status = final.wait(timeout=300)

    print(f"\nreference crawl: {duration:.2f} s (spider opened at {opened:.2f} s), {len(texts(reference))} articles; "
          f"runs (seed {SEED}):")
    for i, run in enumerate(runs):
        outcome = "killed" if run.killed else f"ended by itself, status {run.exit_status}"
        print(f"  run {i:2}: at {run.moment:5.2f} s {outcome:<27} while {run.phase:<8} "
              f"{run.pending_at_start:3} requests pending at start, {run.texts_written:2} articles stored")
    print(f"final run: status {final_status}, {len(texts(archive))} articles; {time.monotonic() - began:.1f} s in all")
    (base / "check").mkdir()
    return KilledJob(reference, archive, base / "check", runs, final_status)


def records(root: Path) -> dict[str, dict]:
    """The article records under text/, by path."""
    return {p.relative_to(root).as_posix(): json.loads(p.read_text(encoding="utf-8")) for p in texts(root)}


def feed_lines(root: Path) -> list[dict]:
    return [json.loads(line) for feed in item_feeds(root, SPIDER) for line in feed.read_text(encoding="utf-8").splitlines()]


def test_the_killed_runs_left_work_pending_that_the_next_runs_resumed(killed_job):
    assert sum(run.killed for run in killed_job.runs) == KILLS
    assert any(run.pending_at_start for run in killed_job.runs)
    assert killed_job.final_status == 0


def test_every_article_of_the_uninterrupted_crawl_is_archived_once_with_the_same_text(killed_job):
    expected, got = records(killed_job.reference), records(killed_job.archive)
    assert len(expected) == 20
    assert got.keys() == expected.keys()
    assert {path: r["content_digest"] for path, r in got.items()} == {path: r["content_digest"] for path, r in expected.items()}
    assert sorted(p.relative_to(killed_job.archive).as_posix() for p in killed_job.archive.glob("text/*/*")) == sorted(
        p.relative_to(killed_job.reference).as_posix() for p in killed_job.reference.glob("text/*/*"))


def test_the_items_feeds_of_all_runs_together_list_each_article_once(killed_job):
    listed = [record["canonical_url"] for record in feed_lines(killed_job.archive)]
    expected = {record["canonical_url"] for record in feed_lines(killed_job.reference)}
    assert len(listed) == len(set(listed))
    assert set(listed) == expected


def test_every_warc_is_whole_valid_and_indexed(killed_job):
    warcs = sorted(killed_job.archive.glob("warc/*/*.warc.gz"))
    assert warcs
    for warc in warcs:
        assert (killed_job.archive / "indexes" / warc.name.replace(".warc.gz", ".cdxj")).exists(), warc.name
    articles = sorted({record["url"] for record in records(killed_job.archive).values()})
    report = validate_warcs(killed_job.archive / "warc", articles, killed_job.workdir)
    assert report.failures == []
    assert report.files == len(warcs) and report.replayed == len(articles)


def test_every_article_record_names_a_warc_record_that_exists(killed_job):
    in_warcs = set()
    for warc in killed_job.archive.glob("warc/*/*.warc.gz"):
        with warc.open("rb") as stream:
            in_warcs.update((warc.name, r.rec_headers.get_header("WARC-Record-ID")) for r in ArchiveIterator(stream))
    named = [*records(killed_job.archive).values(), *feed_lines(killed_job.archive)]
    assert named
    assert [(r["warc_filename"], r["warc_record_id"]) for r in named
            if (r["warc_filename"], r["warc_record_id"]) not in in_warcs] == []


def test_nothing_partial_or_temporary_is_left_after_the_next_start(killed_job):
    archive = killed_job.archive
    assert list(archive.rglob("*.open")) == []
    assert list(archive.rglob(".*.tmp")) == []
    for path, record in records(archive).items():
        assert (archive / path).with_suffix(".txt").read_bytes() == article_text(record), path
    assert sorted(p.stem for p in archive.glob("text/*/*.txt")) == sorted(p.stem for p in archive.glob("text/*/*.json"))


def test_no_process_of_a_killed_run_outlives_it(killed_job):
    assert {i: run.left_behind for i, run in enumerate(killed_job.runs) if run.left_behind} == {}


def test_an_article_listed_by_a_run_killed_before_its_request_was_crossed_off_is_listed_once(tmp_path):
    from crawler.jobdir import JOURNAL_FILE, JobJournal
    from crawler.spiders import VietnamplusSpider
    from crawler.spiders.base import DEPTH, KIND

    archive, job = tmp_path / "archive", tmp_path / "job"
    args = [*REPLAYED, "-s", f"ARCHIVE_URI={archive}", "-s", f"JOBDIR={job}"]
    assert start(args, tmp_path / "first.log").wait(timeout=300) == 0
    # The first run as if killed after its items feed listed the articles, before their requests
    # were crossed off the journal: the next run fetches those pages again.
    listed = feed_lines(archive)
    spider, journal = VietnamplusSpider(), JobJournal(job / JOURNAL_FILE)
    for record in listed:
        request = Request(record["url"], callback=spider.parse_page, meta={KIND: "listed", DEPTH: 0})
        journal.accept(None, lambda request=request: pickle.dumps(request.to_dict(spider=spider)))
    journal.close()
    stats = tmp_path / "stats.json"
    assert start([*args, "-s", f"STATS_FILE={stats}"], tmp_path / "second.log").wait(timeout=300) == 0
    again = json.loads(stats.read_text())
    assert again["jobdir/resumed_pending"] == len(listed) == 20
    assert again["textstore/listed_by_earlier_run"] == 20
    assert len(feed_lines(archive)) == 20


# -- a worker that dies, Ctrl-C ----------------------------------------------------------------


def test_an_extraction_worker_that_dies_costs_no_article(tmp_path):
    archive, stats = tmp_path / "archive", tmp_path / "stats.json"
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={archive}", "-s", f"STATS_FILE={stats}", *SLOW], tmp_path / "log")
    wait_for(lambda: texts(archive) and workers(crawl.pid))
    [worker] = [pid for pid, cmd in workers(crawl.pid).items() if "spawn_main" in cmd]
    os.kill(worker, signal.SIGKILL)  # out of memory, a crash in a C library
    assert left_behind(crawl) == {}
    assert crawl.returncode == 0, (tmp_path / "log").read_text()[-3000:]
    run = json.loads(stats.read_text())
    assert run["extraction/pool_restarts"] == 1 and "extraction/failed" not in run
    assert len(texts(archive)) == 20


def test_ctrl_c_in_a_terminal_pauses_the_crawl_without_failing_an_extraction(tmp_path):
    archive, job, stats = tmp_path / "archive", tmp_path / "job", tmp_path / "stats.json"
    args = [*REPLAYED, "-s", f"ARCHIVE_URI={archive}", "-s", f"JOBDIR={job}", *SLOW]
    crawl = start([*args, "-s", f"STATS_FILE={stats}"], tmp_path / "paused.log")
    wait_for(lambda: texts(archive))
    os.killpg(crawl.pid, signal.SIGINT)  # a terminal signals its whole foreground group
    assert left_behind(crawl) == {}
    assert crawl.returncode == 5
    assert "extraction/failed" not in json.loads(stats.read_text())
    resumed = start(args[:-len(SLOW)], tmp_path / "resumed.log")
    assert resumed.wait(timeout=300) == 0
    listed = [record["canonical_url"] for record in feed_lines(archive)]
    assert len(listed) == len(set(listed)) == len(texts(archive)) == 20


# -- however a crawl ends, nothing of it runs on -------------------------------------------------


def crawl_until_extracting(tmp_path: Path, *extra: str) -> subprocess.Popen:
    archive = tmp_path / "archive"
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={archive}", *SLOW, *extra], tmp_path / "log")
    wait_for(lambda: texts(archive) and workers(crawl.pid))  # its pool is at work
    return crawl


def test_a_finished_crawl_leaves_no_process_behind(tmp_path):
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={tmp_path / 'archive'}"], tmp_path / "log")
    assert workers_while_running(crawl)
    assert left_behind(crawl) == {}
    assert crawl.returncode == 0


def test_a_crawl_stopped_with_sigint_in_a_terminal_leaves_no_process_behind(tmp_path):
    crawl = crawl_until_extracting(tmp_path)
    os.killpg(crawl.pid, signal.SIGINT)
    assert left_behind(crawl) == {}
    assert crawl.returncode == 5


def test_a_crawl_stopped_with_sigterm_leaves_no_process_behind(tmp_path):
    crawl = crawl_until_extracting(tmp_path)
    os.kill(crawl.pid, signal.SIGTERM)  # systemd's KillMode=mixed (deploy/), or kill PID
    assert left_behind(crawl) == {}
    assert crawl.returncode == 5


def test_a_crawl_whose_pipeline_fails_to_open_leaves_no_process_behind(tmp_path):
    # Opened after the extraction pipeline, which has created its pool by then.
    failing = ["-s", 'ITEM_PIPELINES={"tests.faulty_components.FailingOpenPipeline": 900}']
    crawl = start([*REPLAYED, "-s", f"ARCHIVE_URI={tmp_path / 'archive'}", *failing], tmp_path / "log")
    assert left_behind(crawl) == {}
    assert crawl.returncode == 1 and "injected: this pipeline cannot open" in (tmp_path / "log").read_text()


def test_a_crawl_whose_spider_callback_raises_leaves_no_process_behind(tmp_path):
    buggy = ["-s", "SPIDER_MODULES=crawler.spiders,tests.faulty_components"]
    crawl = start(["crawl", "vietnamplus_buggy", "-s", "REPLAY=tests/fixtures", "-s", f"ARCHIVE_URI={tmp_path / 'archive'}",
                   "-s", "EXTRACTION_WORKERS=2", *buggy], tmp_path / "log")
    assert workers_while_running(crawl)
    assert left_behind(crawl) == {}
    assert "injected: a bug in the callback of" in (tmp_path / "log").read_text()
