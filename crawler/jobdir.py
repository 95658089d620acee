"""A job folder (``JOBDIR``) that survives the crawl being killed: nothing it had to do is lost.

Scrapy's own job folder is made for a clean stop (one SIGINT): its disk queues write their
state only when the crawl closes, and its seen set is buffered. After ``kill -9`` (or the OOM
killer, or a power cut of the process) the next run finds requests it will never send (their
fingerprints are seen but the queue forgot them), and requests that were in flight are never
answered: the pages they lead to are lost to the job.

``DurableScheduler`` keeps the job in one SQLite journal, ``<JOBDIR>/requests.sqlite``:

- every request the crawl accepts is written with its fingerprint before it is queued (one
  transaction: seen and pending together);
- a request stays pending until the engine has finished with it: downloaded, its callback
  run, every item it gave through the item pipelines (stored, and in the items feed), every
  request it gave journaled. Only then is it crossed off;
- a run started on the same ``JOBDIR`` queues again every pending request, whether the last
  run stopped cleanly or was killed with requests in flight.

So a request is done at most once from the job's point of view and never lost; a page in
flight when the crawl died is fetched again. The journal also lists the runs of the job (one
crawl id each): the text store reads their items feeds so that an article an earlier run already
listed is not listed again (``emitted_earlier``).

The queue itself lives in memory, as without ``JOBDIR`` (Scrapy's ``SCHEDULER_MEMORY_QUEUE`` and
``SCHEDULER_PRIORITY_QUEUE``); ``SCHEDULER_DISK_QUEUE`` is not used. A request that cannot be
serialised (a callback that is not a spider method) is queued in memory only and counted in
``scheduler/unserializable``, as Scrapy does. The journal survives the crawl process dying
at any moment (SQLite WAL); a crash of the machine itself may lose its last transactions.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy.core.scheduler import Scheduler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.job import job_dir
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict

from archiving.crawls import crawl_storage
from archiving.layout import items_path, read_jsonl
from crawler.urls import url_key

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

JOURNAL_FILE = "requests.sqlite"


class JobJournal:
    """The requests of one job: seen fingerprints, pending requests, and the job's runs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)  # the reactor thread only
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (fingerprint TEXT PRIMARY KEY)")
        self.db.execute("CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, request BLOB)")
        self.db.execute("CREATE TABLE IF NOT EXISTS runs (spider TEXT, crawl_id TEXT, started REAL)")

    def accept(self, fingerprint: str | None, serialise: Any) -> tuple[bool, int | None]:
        """Record a request unless its fingerprint was seen: (accepted, its pending row or None).

        ``fingerprint`` None: a request that is never filtered. ``serialise()`` gives its bytes,
        or None when it cannot be serialised (then it is seen, but not pending).
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if fingerprint is not None:
                added = self.db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (fingerprint,)).rowcount
                if not added:
                    self.db.execute("ROLLBACK")
                    return False, None
            data = serialise()
            row = None
            if data is not None:
                row = self.db.execute("INSERT INTO pending (request) VALUES (?)", (data,)).lastrowid
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True, row

    def done(self, rows: list[int]) -> None:
        self.db.executemany("DELETE FROM pending WHERE id = ?", [(row,) for row in rows])

    def pending(self) -> list[tuple[int, bytes]]:
        return self.db.execute("SELECT id, request FROM pending ORDER BY id").fetchall()

    def add_run(self, spider: str, crawl_id: str) -> None:
        self.db.execute("INSERT INTO runs VALUES (?, ?, ?)", (spider, crawl_id, time.time()))

    def runs(self, spider: str) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT crawl_id FROM runs WHERE spider = ? ORDER BY rowid", (spider,))]

    def close(self) -> None:
        self.db.close()


_JOURNALS: WeakKeyDictionary[Any, JobJournal] = WeakKeyDictionary()


def job_journal(crawler: Crawler) -> JobJournal | None:
    """The journal of a crawl's ``JOBDIR`` (None without one), opened on first use, closed when the engine stops."""
    journal = _JOURNALS.get(crawler)
    if journal is None:
        folder = job_dir(crawler.settings)
        if not folder:
            return None
        from scrapy import signals

        journal = _JOURNALS[crawler] = JobJournal(Path(folder) / JOURNAL_FILE)
        crawler.signals.connect(journal.close, signal=signals.engine_stopped, weak=False)
    return journal


def emitted_earlier(crawler: Crawler, spider: Spider) -> set[str]:
    """URL keys of the canonical URLs that earlier runs of this job listed in their items feeds.

    The feeds are the record of what was emitted: a run killed after an article's feed line
    was written listed it, one killed before did not (the start of this run completed the
    feeds a crash left partial, cutting a torn line).
    """
    journal = job_journal(crawler)
    if journal is None:
        return set()
    storage = crawl_storage(crawler)
    current = getattr(spider, "crawl_id", None)
    keys = set()
    for crawl_id in journal.runs(spider.name):
        if crawl_id != current:
            keys.update(url_key(record["canonical_url"])
                        for record in read_jsonl(storage.read(items_path(spider.name, crawl_id)) or b"")
                        if record.get("canonical_url"))
    return keys


class DurableScheduler(Scheduler):
    """Scrapy's scheduler, with a job folder that a killed crawl resumes without loss (module docstring).

    Without ``JOBDIR`` it is Scrapy's scheduler unchanged.
    """

    journal: JobJournal | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        journal = job_journal(crawler)
        if journal is None:
            return super().from_crawler(crawler)
        # The journal is the seen set; this filter only logs and counts what it filters.
        dupefilter = RFPDupeFilter(None, settings.getbool("DUPEFILTER_DEBUG"), fingerprinter=crawler.request_fingerprinter)
        scheduler = cls(
            dupefilter=dupefilter,
            jobdir=None,  # no disk queues: the journal keeps what they would
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )
        scheduler.journal = journal
        scheduler._queued: dict[Request, int] = {}  # in the queue -> pending row
        scheduler._handed: dict[Request, int] = {}  # given to the engine -> pending row
        return scheduler

    def open(self, spider: Spider) -> Any:
        opened = super().open(spider)
        if self.journal is None:
            return opened
        if crawl_id := getattr(spider, "crawl_id", None):
            self.journal.add_run(spider.name, crawl_id)
        pending = self.journal.pending()
        for row, data in pending:
            request = request_from_dict(pickle.loads(data), spider=spider)
            self._queued[request] = row
            self.mqs.push(request)
        if pending:
            logger.info("Resuming the job in %s: %d requests pending from earlier runs", self.journal.path.parent,
                        len(pending))
            self.stats.set_value("jobdir/resumed_pending", len(pending))
        return opened

    def enqueue_request(self, request: Request) -> bool:
        if self.journal is None:
            return super().enqueue_request(request)
        fingerprint = None if request.dont_filter else self.crawler.request_fingerprinter.fingerprint(request).hex()
        accepted, row = self.journal.accept(fingerprint, lambda: self._serialise(request))
        if not accepted:
            self.df.log(request, self.spider)
            return False
        if row is not None:
            self._queued[request] = row
        self.mqs.push(request)
        self.stats.inc_value("scheduler/enqueued/memory")
        self.stats.inc_value("scheduler/enqueued")
        return True

    def next_request(self) -> Request | None:
        if self.journal is None:
            return super().next_request()
        self._cross_off_finished()
        request = super().next_request()
        if request is not None and (row := self._queued.pop(request, None)) is not None:
            self._handed[request] = row
        return request

    def close(self, reason: str) -> Any:
        if self.journal is not None:
            self._cross_off_finished()
        return super().close(reason)

    def _cross_off_finished(self) -> None:
        """Requests the engine has finished with (downloaded, processed, items stored) are done."""
        if not self._handed:
            return
        # The engine's requests in progress: a request leaves it once its response and every item
        # it gave are processed. Scrapy has no public signal for that moment.
        in_progress = getattr(getattr(self.crawler.engine, "_slot", None), "inprogress", None)
        if in_progress is None:
            return  # unknown: kept pending (fetched again after a crash, never lost)
        finished = [request for request in self._handed if request not in in_progress]
        if finished:
            self.journal.done([self._handed.pop(request) for request in finished])

    def _serialise(self, request: Request) -> bytes | None:
        try:
            return pickle.dumps(request.to_dict(spider=self.spider), protocol=4)
        except (ValueError, pickle.PicklingError, AttributeError, TypeError) as exc:
            if self.logunser:
                logger.warning("Unable to serialize request: %s - reason: %s - it is kept in memory only, and lost "
                               "if the crawl is killed (no more unserializable requests will be logged)", request, exc)
                self.logunser = False
            self.stats.inc_value("scheduler/unserializable")
            return None
