"""Distributed crawls: the workers of one crawl share it through Redis (docs/distributed.md).

``-s REDIS_URL=redis://host:port/db`` switches a crawl to this profile. scrapy-redis gives the
shared queue (its priority queue: a sorted set of serialised requests), the seen set (its
duplicate filter, here with the product's request fingerprints) and the Redis connection. What
it leaves out is added here:

- **Leases.** A request a worker takes from the queue moves, in one Redis script, into that
  worker's lease hash, and leaves it only when the engine has finished with it (downloaded,
  callback run, items stored, new requests queued). Each worker renews a heartbeat every
  quarter of ``REDIS_LEASE``; the requests of a worker whose heartbeat is older than that go
  back to the queue (plain scrapy-redis loses the requests a dead worker had in flight).
- **Runs.** The seen set and the shared payload digests last one run of the crawl: the run
  ends when its last worker leaves a finished crawl (queue empty, nothing leased), so the next
  scheduled crawl fetches its sitemaps again. Workers stopped before the end leave the queue
  and the seen set as they are: the next start resumes the run, as a ``JOBDIR`` does.
- **The end.** A worker is idle while other workers still hold requests (they may find more),
  and closes when the whole crawl is: queue empty, no request leased by a live worker, no
  worker still starting, no URL pushed to the start key. ``REDIS_IDLE_CLOSE`` keeps it waiting
  that many seconds more for pushed URLs.
- **Pushed URLs.** ``<prefix>:<spider>:start_urls`` is a Redis list that workers read while
  they run: a plain URL is crawled as ``-a url=`` crawls it; a JSON object
  ``{"url": ..., "kind": "sitemap" | "feed" | "url"}`` names what it is.

Keys (``REDIS_KEY_PREFIX``, default ``news-archiver``; one prefix per archive):

==============================  ========================================================
``<prefix>:<spider>:requests``  the queue (sorted set; score = -priority)
``<prefix>:<spider>:seen``      request fingerprints of this run (set)
``<prefix>:<spider>:start_urls``  URLs pushed while workers run (list)
``<prefix>:<spider>:workers``   live workers and their last heartbeat (sorted set)
``<prefix>:<spider>:leases:<worker>``  requests a worker holds (hash: request -> score)
``<prefix>:<spider>:starting``  workers whose start requests are not all queued (set)
``<prefix>:<spider>:worker-stats``  each live worker's figures, renewed with its heartbeat (hash)
``<prefix>:<spider>:run``       the current run's id
``<prefix>:<spider>:payloads``  payload digest -> first capture, this run (hash)
``<prefix>:state:*``            the crawl state (crawler.state.RedisCrawlState)
``<prefix>:host:<host>:*``      shared per-host limits (crawler.hostlimits)
==============================  ========================================================

The scripts compute key names from the prefix, so a crawl needs one Redis server, not a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from redis.exceptions import RedisError
from scrapy_redis import connection
from scrapy_redis.dupefilter import RFPDupeFilter as ScrapyRedisDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler as ScrapyRedisScheduler
from twisted.internet import task

from archiving.storage import ArchiveError
from crawler.outcome import errors

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "news-archiver"


def enabled(settings: BaseSettings) -> bool:
    return bool(settings.get("REDIS_URL"))


def redis_server(settings: BaseSettings) -> Redis:
    """The crawl's Redis connection, as scrapy-redis makes it (``REDIS_URL``, ``REDIS_PARAMS``)."""
    return connection.get_redis_from_settings(settings)


def redacted_url(settings: BaseSettings) -> str:
    """``REDIS_URL`` without its password, for messages."""
    parts = urlsplit(str(settings.get("REDIS_URL") or ""))
    if parts.password:
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


def key_prefix(settings: BaseSettings) -> str:
    return str(settings.get("REDIS_KEY_PREFIX") or DEFAULT_PREFIX)


@dataclass(frozen=True)
class CrawlKeys:
    """The Redis keys of one spider's distributed crawl."""

    prefix: str
    spider: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:{self.spider}"

    @property
    def queue(self) -> str:
        return f"{self.base}:requests"

    @property
    def seen(self) -> str:
        return f"{self.base}:seen"

    @property
    def start_urls(self) -> str:
        return f"{self.base}:start_urls"

    @property
    def workers(self) -> str:
        return f"{self.base}:workers"

    @property
    def leases_prefix(self) -> str:
        return f"{self.base}:leases:"

    def leases(self, worker: str) -> str:
        return self.leases_prefix + worker

    @property
    def starting(self) -> str:
        return f"{self.base}:starting"

    @property
    def worker_stats(self) -> str:
        return f"{self.base}:worker-stats"

    @property
    def run(self) -> str:
        return f"{self.base}:run"

    @property
    def payloads(self) -> str:
        return f"{self.base}:payloads"


def crawl_keys(settings: BaseSettings, spider: str) -> CrawlKeys:
    return CrawlKeys(key_prefix(settings), spider)


def crawl_identity(settings: BaseSettings, spider: str) -> str:
    """What names one distributed crawl: its Redis server and database, and its keys.

    The archive's crawl lock lets every worker of this crawl in, and refuses any other crawl.
    """
    kwargs = redis_server(settings).connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"redis://{where}/{kwargs.get('db', 0)}/{crawl_keys(settings, spider).base}"


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# Redis server time, so that the workers' clocks need not agree.
_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

# KEYS: queue, own leases. Move the first request of the queue into the worker's leases.
POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
redis.call('HSET', KEYS[2], item[1], item[2])
return item[1]
"""

# KEYS: workers, queue, starting, worker stats. ARGV: worker ('' for none), lease seconds, leases prefix.
# Renew the worker's heartbeat; give the requests of workers whose heartbeat expired back to the queue.
HEARTBEAT = _NOW + """
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], now, ARGV[1]) end
local requeued = 0
for _, worker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))) do
  local leases = ARGV[3] .. worker
  local held = redis.call('HGETALL', leases)
  for i = 1, #held, 2 do
    redis.call('ZADD', KEYS[2], held[i + 1], held[i])
    requeued = requeued + 1
  end
  redis.call('DEL', leases)
  redis.call('ZREM', KEYS[1], worker)
  redis.call('SREM', KEYS[3], worker)
  redis.call('HDEL', KEYS[4], worker)
end
return requeued
"""

# KEYS: workers, queue, starting, start_urls. ARGV: leases prefix.
STATUS = """
local leased = 0
local workers = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, worker in ipairs(workers) do leased = leased + redis.call('HLEN', ARGV[1] .. worker) end
return {redis.call('ZCARD', KEYS[2]), leased, redis.call('SCARD', KEYS[3]), redis.call('LLEN', KEYS[4]), #workers}
"""

# KEYS: workers, queue, starting, start_urls, seen, run, payloads, worker stats. ARGV: worker, leases prefix.
# The worker leaves: what it still holds goes back to the queue. The last worker of a finished
# crawl ends the run (its seen set and payload digests); returns 1 then.
LEAVE = """
local leases = ARGV[2] .. ARGV[1]
local held = redis.call('HGETALL', leases)
for i = 1, #held, 2 do redis.call('ZADD', KEYS[2], held[i + 1], held[i]) end
redis.call('DEL', leases)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[8], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 and redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('DEL', KEYS[5], KEYS[6], KEYS[7], KEYS[3])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class CrawlStatus:
    """The whole distributed crawl, as one worker sees it."""

    queued: int
    leased: int
    starting: int
    pushed: int
    workers: int

    @property
    def finished(self) -> bool:
        return not (self.queued or self.leased or self.starting or self.pushed)


class SharedCrawl:
    """One worker's membership of a distributed crawl: queue leases, heartbeat, run, status."""

    def __init__(self, server: Redis, keys: CrawlKeys, lease: float, worker: str | None = None) -> None:
        self.server, self.keys, self.lease = server, keys, lease
        self.worker = worker or worker_name()
        self._pop = server.register_script(POP)
        self._heartbeat = server.register_script(HEARTBEAT)
        self._status = server.register_script(STATUS)
        self._leave = server.register_script(LEAVE)

    def join(self) -> str:
        """Register as a live, starting worker; the run's id (a new run if none is going on)."""
        self.heartbeat()
        self.server.sadd(self.keys.starting, self.worker)
        self.server.set(self.keys.run, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6], nx=True)
        run = self.server.get(self.keys.run)
        return run.decode() if isinstance(run, bytes) else str(run)

    def started(self) -> None:
        """Every start request of this worker is queued."""
        self.server.srem(self.keys.starting, self.worker)

    def heartbeat(self) -> int:
        """Renew this worker; requeue what dead workers held. Returns how many requests came back."""
        return int(self._heartbeat(keys=[self.keys.workers, self.keys.queue, self.keys.starting, self.keys.worker_stats],
                                   args=[self.worker, self.lease, self.keys.leases_prefix]))

    def reap(self) -> int:
        """Requeue what dead workers held, without renewing this worker."""
        return int(self._heartbeat(keys=[self.keys.workers, self.keys.queue, self.keys.starting, self.keys.worker_stats],
                                   args=["", self.lease, self.keys.leases_prefix]))

    def pop(self) -> bytes | None:
        return self._pop(keys=[self.keys.queue, self.keys.leases(self.worker)])

    def done(self, requests: list[bytes]) -> None:
        if requests:
            self.server.hdel(self.keys.leases(self.worker), *requests)

    def status(self) -> CrawlStatus:
        values = self._status(keys=[self.keys.workers, self.keys.queue, self.keys.starting, self.keys.start_urls],
                              args=[self.keys.leases_prefix])
        return CrawlStatus(*map(int, values))

    def pop_pushed(self, count: int) -> list[str]:
        """URLs pushed to the start key (at most ``count``)."""
        values = self.server.lpop(self.keys.start_urls, count) or []
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]

    def leave(self) -> bool:
        """Leave the crawl, giving back what is still leased; True if this ended the run."""
        keys = self.keys
        self.reap()
        return bool(self._leave(keys=[keys.workers, keys.queue, keys.starting, keys.start_urls, keys.seen, keys.run,
                                      keys.payloads, keys.worker_stats], args=[self.worker, keys.leases_prefix]))

    def publish(self, figures: dict[str, Any]) -> None:
        """This worker's figures, for ``scrapy workers``."""
        self.server.hset(self.keys.worker_stats, self.worker, json.dumps(figures, separators=(",", ":")))


WRITER_LEASE = 600  # seconds: a writer that died releases the archive to the next one after this


@contextmanager
def archive_writer(crawler: Crawler, what: str) -> Iterator[None]:
    """One writer at a time of the archive's shared files (the story index), across the workers of
    a distributed crawl: a Redis lock (redis-py's ``Lock``), ``<prefix>:archive-writer``. A single
    crawl holds the archive alone already: nothing to take."""
    settings = crawler.settings
    if not enabled(settings):
        yield
        return
    lock = redis_server(settings).lock(f"{key_prefix(settings)}:archive-writer", timeout=WRITER_LEASE,
                                       blocking_timeout=WRITER_LEASE, thread_local=False)
    if not lock.acquire():
        raise ArchiveError(f"could not take the {what} from the other workers in {WRITER_LEASE} s")
    # Renewed while the update runs, however long: a lock that expired mid-update would let a second writer in.
    done = threading.Event()
    renewer = threading.Thread(target=_keep, args=(lock, done), name="archive-writer", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join(5)
        try:
            lock.release()
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            logger.warning("Could not release the lock on the %s (it expires by itself): %s", what, exc)


def _keep(lock: Any, done: threading.Event) -> None:
    while not done.wait(WRITER_LEASE / 3):
        try:
            lock.reacquire()
        except Exception as exc:  # noqa: BLE001 - reported; the update goes on, as a lock lost would let it
            logger.error("Could not renew the lock on the archive's shared files: %s", exc)
            return


class SharedPayloads:
    """Payload digest -> its first capture in this run, across workers (``<spider>:payloads``).

    A worker writes a capture here only once its record is flushed to its WARC: a revisit never
    points at a record that a dead worker had not written yet.
    """

    def __init__(self, server: Redis, keys: CrawlKeys) -> None:
        self.server, self.key = server, keys.payloads

    def first(self, digest: str) -> dict[str, str] | None:
        raw = self.server.hget(self.key, digest)
        return None if raw is None else json.loads(raw)

    def add(self, digest: str, capture: dict[str, str]) -> None:
        self.server.hsetnx(self.key, digest, json.dumps(capture, separators=(",", ":")))


def shared_payloads(crawler: Crawler) -> SharedPayloads | None:
    settings = crawler.settings
    if not enabled(settings):
        return None
    return SharedPayloads(redis_server(settings), crawl_keys(settings, crawler.spidercls.name))


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue, popping into the worker's leases (``SharedCrawl.pop``)."""

    def __init__(self, server: Redis, spider: Spider, key: str, shared: SharedCrawl, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.shared = shared

    def pop_leased(self) -> tuple[Request, bytes] | None:
        data = self.shared.pop()
        return None if data is None else (self._decode_request(data), data)

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)


class FingerprintDupeFilter(ScrapyRedisDupeFilter):
    """scrapy-redis's seen set, keyed by the product's request fingerprints (crawler.fingerprint)."""

    def __init__(self, server: Redis, key: str, fingerprinter: Any, debug: bool = False) -> None:
        super().__init__(server, key, debug)
        self.fingerprinter = fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()


def worker_figures(stats: dict[str, Any], leased: int) -> dict[str, Any]:
    """What ``scrapy workers`` shows of a worker: from its crawl stats."""
    started = stats.get("start_time")
    return {
        "pid": os.getpid(),
        "started": started.timestamp() if started else None,
        "leased": leased,
        "pages": stats.get("response_received_count", 0),
        "articles": stats.get("textstore/written", 0),
        "revisits": stats.get("warc/revisits", 0) + stats.get("warc/not_modified_revisits", 0),
        "errors": errors(stats),
        "bytes": stats.get("downloader/response_bytes", 0),
    }


class RedisScheduler(ScrapyRedisScheduler):
    """scrapy-redis's scheduler with leases, runs and a crawl-wide end (module docstring)."""

    def __init__(self, crawler: Crawler, server: Redis, keys: CrawlKeys) -> None:
        settings = crawler.settings
        dupefilter = FingerprintDupeFilter(server, keys.seen, crawler.request_fingerprinter,
                                           settings.getbool("DUPEFILTER_DEBUG"))
        super().__init__(server, persist=True, queue_key=keys.queue, dupefilter=dupefilter, dupefilter_key=keys.seen)
        self.crawler = crawler
        self.stats = crawler.stats
        self.keys = keys
        self.lease = settings.getfloat("REDIS_LEASE")
        self.idle_close = settings.getfloat("REDIS_IDLE_CLOSE")
        self.pushed_batch = settings.getint("REDIS_START_URLS_BATCH_SIZE", 16)
        self.shared = SharedCrawl(server, keys, self.lease)
        self._handed: dict[Request, bytes] = {}  # given to the engine -> its data in the leases
        self._finished_since: float | None = None
        self._beat: task.LoopingCall | None = None
        self._starting = True

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        server = redis_server(crawler.settings)
        server.ping()
        return cls(crawler, server, crawl_keys(crawler.settings, crawler.spidercls.name))

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.keys.queue, self.shared, self.serializer)
        requeued = self.shared.heartbeat()
        run = self.shared.join()
        self.shared.publish(worker_figures(self.stats.get_stats(), 0))
        self.stats.set_value("distributed/worker", self.shared.worker)
        self.stats.set_value("distributed/run", run)
        if requeued:
            self.stats.inc_value("distributed/requeued", requeued)
            logger.warning("Put back in the queue %d requests that dead workers had leased", requeued)
        logger.info("Worker %s joined run %s of the distributed crawl %s (%d requests queued)",
                    self.shared.worker, run, self.keys.base, len(self.queue))
        self._beat = task.LoopingCall(self._heartbeat)
        self._beat.start(max(0.5, self.lease / 4), now=False)
        self.crawler.signals.connect(self._spider_idle, signal=signals.spider_idle)

    def close(self, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        self._cross_off_finished()
        left = len(self._handed)
        ended = self.shared.leave()
        if left:
            self.stats.set_value("distributed/given_back", left)
            logger.info("Gave %d requests in progress back to the queue", left)
        if ended:
            logger.info("Run %s of %s ended: this worker was the last", self.stats.get_value("distributed/run"),
                        self.keys.base)
        self.stats.set_value("distributed/ended_run", ended)

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        self.stats.inc_value("scheduler/enqueued")
        return True

    def next_request(self) -> Request | None:
        self._cross_off_finished()
        popped = self.queue.pop_leased()
        if popped is None:
            return None
        request, data = popped
        self._handed[request] = data
        self.stats.inc_value("scheduler/dequeued/redis")
        self.stats.inc_value("scheduler/dequeued")
        return request

    def has_pending_requests(self) -> bool:
        return len(self.queue) > 0

    def _cross_off_finished(self) -> None:
        """Requests the engine has finished with leave the leases (crawler.jobdir explains the test)."""
        if not self._handed:
            return
        in_progress = getattr(getattr(self.crawler.engine, "_slot", None), "inprogress", None)
        if in_progress is None:
            return
        finished = [request for request in self._handed if request not in in_progress]
        if finished:
            self.shared.done([self._handed.pop(request) for request in finished])

    def _heartbeat(self) -> None:
        try:
            self._cross_off_finished()
            self.shared.publish(worker_figures(self.stats.get_stats(), len(self._handed)))
            if requeued := self.shared.heartbeat():
                self.stats.inc_value("distributed/requeued", requeued)
                logger.warning("Put back in the queue %d requests that dead workers had leased", requeued)
        except Exception as exc:  # noqa: BLE001 - Redis away for a moment: the next beat tries again
            self.stats.inc_value("distributed/heartbeat_failed")
            logger.error("Could not renew this worker's lease in Redis: %s", exc)

    def _spider_idle(self, spider: Spider) -> None:
        try:
            self._idle(spider)
        except RedisError as exc:  # Redis away for a moment: stay, and ask again at the next idle
            self.stats.inc_value("distributed/idle_check_failed")
            logger.error("Could not read the distributed crawl's state in Redis: %s", exc)
            raise DontCloseSpider from None

    def _idle(self, spider: Spider) -> None:
        self._cross_off_finished()
        if self._starting:
            self.shared.started()
            self._starting = False
        if pushed := self.shared.pop_pushed(self.pushed_batch):
            self._finished_since = None
            for line in pushed:
                if (request := self._pushed_request(spider, line)) is not None:
                    self.crawler.engine.crawl(request)
            raise DontCloseSpider
        status = self.shared.status()
        self.stats.set_value("distributed/queue_length", status.queued)
        if not status.finished:
            self._finished_since = None
            raise DontCloseSpider  # other workers hold requests that may lead to more
        now = time.monotonic()
        if self._finished_since is None:
            self._finished_since = now
        if now - self._finished_since < self.idle_close:
            raise DontCloseSpider

    def _pushed_request(self, spider: Spider, line: str) -> Request | None:
        url, kind = line.strip(), "url"
        if url.startswith("{"):
            try:
                data = json.loads(url)
                url, kind = str(data["url"]), str(data.get("kind", "url"))
            except (ValueError, KeyError, TypeError):
                url = ""
        make = getattr(spider, "pushed_request", None)
        try:
            request = make(url, kind) if make else None
        except ValueError as exc:
            request, url = None, f"{url} ({exc})"
        if request is None:
            self.stats.inc_value("distributed/pushed_refused")
            logger.error("Refused a start URL pushed to %s: %r", self.keys.start_urls, line[:200])
            return None
        self.stats.inc_value("distributed/pushed")
        return request


def crawl_report(server: Redis, keys: CrawlKeys) -> dict[str, Any]:
    """The distributed crawl as ``scrapy workers`` shows it: queue, workers, hosts (docs/distributed.md)."""
    seconds, microseconds = server.time()
    now = seconds + microseconds / 1e6
    run = server.get(keys.run)
    beats = {_text(worker): beat for worker, beat in server.zrange(keys.workers, 0, -1, withscores=True)}
    figures = {_text(worker): json.loads(raw) for worker, raw in server.hgetall(keys.worker_stats).items()}
    workers = {
        worker: {"heartbeat_age_s": round(now - beat, 1), "leased": int(server.hlen(keys.leases(worker))),
                 **{k: v for k, v in figures.get(worker, {}).items() if k != "leased"}}
        for worker, beat in sorted(beats.items())
    }
    # Requests over the last 60 s, estimated from per-minute counters: the current minute so far,
    # plus the previous minute's share that still falls in the window.
    minute, elapsed = int(now // 60), (now % 60) / 60
    hosts: dict[str, dict[str, Any]] = {}
    host_prefix = f"{keys.prefix}:host:"
    for key in server.scan_iter(match=f"{host_prefix}*:inflight"):
        host = _text(key)[len(host_prefix):-len(":inflight")]
        hosts.setdefault(host, {})["in_flight"] = int(server.zcount(key, now, "+inf"))
    for key in server.scan_iter(match=f"{host_prefix}*:minute:*"):
        host, _, of = _text(key)[len(host_prefix):].rpartition(":minute:")
        weight = {minute: 1.0, minute - 1: 1 - elapsed}.get(int(of), 0.0)
        if weight:
            entry = hosts.setdefault(host, {})
            entry["requests_last_60s"] = round(entry.get("requests_last_60s", 0) + weight * int(server.get(key) or 0))
    for entry in hosts.values():
        entry["requests_per_second"] = round(entry.get("requests_last_60s", 0) / 60, 2)
    return {
        "crawl": keys.base,
        "run": _text(run) if run is not None else None,
        "queued": int(server.zcard(keys.queue)),
        "pushed": int(server.llen(keys.start_urls)),
        "seen": int(server.scard(keys.seen)),
        "leased": sum(w["leased"] for w in workers.values()),
        "starting": int(server.scard(keys.starting)),
        "workers": workers,
        "hosts": dict(sorted(hosts.items())),
    }


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
