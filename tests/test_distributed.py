"""Distributed crawls: the workers of one crawl share its queue, seen set, state and per-host
limits through a real redis-server (crawler.distributed, crawler.hostlimits, docs/distributed.md)."""

from __future__ import annotations

import time

import pytest
from scrapy import Request, Spider
from scrapy.settings import Settings

from archiving.lock import ArchiveLocked, FileLock, SharedFileLock
from crawler.addon import Addon
from crawler.distributed import CrawlKeys, LeasedQueue, SharedCrawl
from crawler.hostlimits import ACQUIRE, RESERVE
from crawler.state import PageState, RedisCrawlState
from tests.redisserver import start_or_skip


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = start_or_skip(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def server(redis_server):
    redis_server.flush()
    return redis_server.client()


KEYS = CrawlKeys("test", "news")


def queued(server, url: str, priority: int = 0) -> None:
    LeasedQueue(server, Spider("news"), KEYS.queue, None).push(Request(url, priority=priority))


# -- leases -------------------------------------------------------------------------------------


def test_a_taken_request_is_leased_to_its_worker_until_done(server):
    queued(server, "http://127.0.0.1/a")
    worker = SharedCrawl(server, KEYS, lease=60, worker="w1")
    worker.join()
    data = worker.pop()
    assert data is not None
    assert worker.status().queued == 0 and worker.status().leased == 1
    worker.done([data])
    assert worker.status().leased == 0


def test_the_requests_of_a_worker_that_stopped_beating_go_back_to_the_queue(server):
    for n in range(3):
        queued(server, f"http://127.0.0.1/{n}")
    dead = SharedCrawl(server, KEYS, lease=0.5, worker="dead")
    dead.join()
    dead.pop(), dead.pop()
    alive = SharedCrawl(server, KEYS, lease=0.5, worker="alive")
    assert alive.heartbeat() == 0  # the lease still runs
    time.sleep(0.7)
    assert alive.heartbeat() == 2
    status = alive.status()
    assert (status.queued, status.leased, status.workers) == (3, 0, 1)


def test_a_beating_worker_keeps_its_leases(server):
    queued(server, "http://127.0.0.1/a")
    worker = SharedCrawl(server, KEYS, lease=0.5, worker="w")
    worker.join()
    worker.pop()
    for _ in range(4):
        time.sleep(0.2)
        worker.heartbeat()
    assert worker.status().leased == 1


def test_the_queue_gives_the_highest_priority_first(server):
    queued(server, "http://127.0.0.1/low", priority=0)
    queued(server, "http://127.0.0.1/seed", priority=10)
    worker = SharedCrawl(server, KEYS, lease=60, worker="w")
    queue = LeasedQueue(server, Spider("news"), KEYS.queue, worker)
    assert queue.pop_leased()[0].url == "http://127.0.0.1/seed"


def test_a_crawl_is_unfinished_while_a_worker_is_starting_or_holds_a_request(server):
    first, second = SharedCrawl(server, KEYS, 60, "first"), SharedCrawl(server, KEYS, 60, "second")
    first.join()
    second.join()
    first.started()
    assert not first.status().finished  # second's start requests may still come
    second.started()
    assert first.status().finished
    queued(server, "http://127.0.0.1/a")
    second.pop()
    assert not first.status().finished  # second may find more pages in it


def test_a_pushed_url_keeps_the_crawl_unfinished(server):
    worker = SharedCrawl(server, KEYS, 60, "w")
    worker.join()
    worker.started()
    server.rpush(KEYS.start_urls, "http://127.0.0.1/pushed")
    assert not worker.status().finished
    assert worker.pop_pushed(10) == ["http://127.0.0.1/pushed"]
    assert worker.status().finished


# -- runs ---------------------------------------------------------------------------------------


def test_the_last_worker_to_leave_a_finished_crawl_ends_the_run(server):
    first, second = SharedCrawl(server, KEYS, 60, "first"), SharedCrawl(server, KEYS, 60, "second")
    run = first.join()
    assert second.join() == run  # one run, joined
    server.sadd(KEYS.seen, "fingerprint")
    assert not first.leave()
    assert server.exists(KEYS.seen)
    assert second.leave()
    assert not server.exists(KEYS.seen) and not server.exists(KEYS.run)
    assert SharedCrawl(server, KEYS, 60, "next").join() != run


def test_a_worker_stopped_early_gives_its_requests_back_and_the_run_goes_on(server):
    queued(server, "http://127.0.0.1/a")
    worker = SharedCrawl(server, KEYS, 60, "w")
    run = worker.join()
    worker.pop()
    server.sadd(KEYS.seen, "fingerprint")
    assert not worker.leave()  # the queue is not empty: the next start resumes the run
    assert worker.status().queued == 1
    assert server.exists(KEYS.seen)
    assert SharedCrawl(server, KEYS, 60, "again").join() == run


# -- crawl state --------------------------------------------------------------------------------


def test_the_redis_crawl_state_keeps_pages_and_lists_those_due(server):
    state = RedisCrawlState(server, "test")
    state.put(PageState("a", url="https://example.org/a", kind="article", next_check=100.0, version=2))
    state.put(PageState("b", url="https://other.org/b", kind="article", next_check=50.0))
    state.put(PageState("c", url="https://example.org/c", kind="article", next_check=500.0))
    state.put(PageState("s", url="https://example.org/sitemap.xml", kind="sitemap", next_check=10.0))
    assert state.get("a").version == 2
    assert state.get("missing") is None
    assert [p.key for p in state.due(200.0)] == ["b", "a"]
    assert [p.key for p in state.due(200.0, ("https://example.org/",))] == ["a"]


def test_an_article_too_old_to_recheck_leaves_the_due_list(server):
    state = RedisCrawlState(server, "test")
    state.put(PageState("a", url="https://example.org/a", kind="article", next_check=100.0))
    state.put(PageState("a", url="https://example.org/a", kind="article", next_check=None))
    assert state.due(1e12) == []


# -- per-host rate ------------------------------------------------------------------------------


def test_reservations_space_a_hosts_requests_by_the_rate(server):
    reserve = server.register_script(RESERVE)
    waits = [float(reserve(keys=["test:host:h:next"], args=["0.1"])) for _ in range(5)]
    assert waits[0] == pytest.approx(0, abs=0.02)
    assert [round(b - a, 2) for a, b in zip(waits, waits[1:])] == [0.1] * 4


def test_a_host_takes_no_more_requests_in_flight_than_its_limit(server):
    acquire = server.register_script(ACQUIRE)
    key = "test:host:h:inflight"
    assert [acquire(keys=[key], args=[2, token, 60]) for token in ("a", "b", "c")] == [1, 1, 0]
    server.zrem(key, "a")  # a response came back
    assert acquire(keys=[key], args=[2, "c", 60]) == 1


def test_a_dead_workers_request_frees_its_hosts_place_when_its_time_is_up(server):
    acquire = server.register_script(ACQUIRE)
    key = "test:host:h:inflight"
    assert acquire(keys=[key], args=[1, "held-by-the-dead", 0.3]) == 1
    assert acquire(keys=[key], args=[1, "next", 60]) == 0
    time.sleep(0.4)
    assert acquire(keys=[key], args=[1, "next", 60]) == 1


def test_the_distributed_profile_shares_one_processs_politeness(tmp_path):
    settings = Settings({"REDIS_URL": "redis://127.0.0.1:1/0", "DOWNLOAD_DELAY": 0.25, "AUTOTHROTTLE_ENABLED": True,
                         "CONCURRENT_REQUESTS_PER_DOMAIN": 4}, priority="project")
    Addon().update_settings(settings)
    assert settings["SCHEDULER"] == "crawler.distributed.RedisScheduler"
    assert settings.getfloat("HOST_RATE_LIMIT") == 4.0  # 1 / DOWNLOAD_DELAY, for all workers together
    assert settings.getint("HOST_CONCURRENCY_LIMIT") == 4
    assert settings.getfloat("DOWNLOAD_DELAY") == 0 and not settings.getbool("AUTOTHROTTLE_ENABLED")
    assert "crawler.hostlimits.SharedHostLimitsMiddleware" in settings.getdict("DOWNLOADER_MIDDLEWARES")


def test_a_rate_given_with_s_wins_over_the_derived_one():
    settings = Settings({"DOWNLOAD_DELAY": 0.25}, priority="project")
    settings.set("REDIS_URL", "redis://127.0.0.1:1/0", priority="cmdline")
    settings.set("HOST_RATE_LIMIT", 20, priority="cmdline")
    Addon().update_settings(settings)
    assert settings.getfloat("HOST_RATE_LIMIT") == 20


def test_without_redis_the_crawl_keeps_its_own_scheduler_and_delay():
    settings = Settings({"DOWNLOAD_DELAY": 0.25}, priority="project")
    Addon().update_settings(settings)
    assert settings["SCHEDULER"] == "crawler.jobdir.DurableScheduler"
    assert settings.getfloat("DOWNLOAD_DELAY") == 0.25


# -- one crawl per archive ----------------------------------------------------------------------


def test_workers_of_one_distributed_crawl_share_the_archive(tmp_path):
    with SharedFileLock(tmp_path, "news", "redis://h:1/0/a:news", "the archive"):
        with SharedFileLock(tmp_path, "news", "redis://h:1/0/a:news", "the archive"):
            pass


def test_a_single_crawl_is_refused_while_a_distributed_one_runs(tmp_path):
    with SharedFileLock(tmp_path, "news", "redis://h:1/0/a:news", "the archive"):
        with pytest.raises(ArchiveLocked):
            FileLock(tmp_path / ".crawl-news.lock", "the archive")


def test_a_distributed_crawl_is_refused_while_a_single_one_runs(tmp_path):
    with FileLock(tmp_path / ".crawl-news.lock", "the archive"):
        with pytest.raises(ArchiveLocked, match="not this distributed one"):
            SharedFileLock(tmp_path, "news", "redis://h:1/0/a:news", "the archive")


def test_another_distributed_crawl_is_refused(tmp_path):
    with SharedFileLock(tmp_path, "news", "redis://h:1/0/a:news", "the archive"):
        with pytest.raises(ArchiveLocked, match=r"another distributed crawl \(redis://h:1/0/a:news\)"):
            SharedFileLock(tmp_path, "news", "redis://other:1/0/a:news", "the archive")


def test_a_distributed_crawl_whose_workers_are_gone_no_longer_holds_the_archive(tmp_path):
    SharedFileLock(tmp_path, "news", "redis://h:1/0/a:news", "the archive").release()
    with SharedFileLock(tmp_path, "news", "redis://other:1/0/a:news", "the archive"):
        assert len(list(tmp_path.glob("*.member"))) == 1


def test_a_distributed_crawls_workers_share_an_s3_lease_that_refuses_other_crawls(s3, tmp_path):
    from archiving.s3 import S3Storage
    from tests.s3server import unique_bucket_name

    bucket = s3.create_bucket(unique_bucket_name("lease"))
    storage = S3Storage(f"s3://{bucket}/archive", s3.client(), tmp_path / "spool")
    first = storage.crawl_lock("news", crawl="redis://h:1/0/a:news")
    second = storage.crawl_lock("news", crawl="redis://h:1/0/a:news")
    with pytest.raises(ArchiveLocked):
        storage.crawl_lock("news")
    with pytest.raises(ArchiveLocked):
        storage.crawl_lock("news", crawl="redis://other:1/0/a:news")
    first.release()  # a worker leaving while others run: the lease stays
    with pytest.raises(ArchiveLocked):
        storage.crawl_lock("news")
    second.final = True  # the worker that ended the run (scrapy crawl sets it from distributed/ended_run)
    second.release()
    storage.crawl_lock("news").release()


# -- watching -----------------------------------------------------------------------------------


def test_the_report_shows_the_queue_each_worker_and_each_hosts_rate(server):
    from crawler.distributed import crawl_report

    for n in range(3):
        queued(server, f"http://127.0.0.1/{n}")
    worker = SharedCrawl(server, KEYS, 60, "w1")
    worker.join()
    worker.pop()
    worker.publish({"pages": 12, "articles": 10, "errors": 1})
    seconds = server.time()[0]
    server.set(f"test:host:example.org:minute:{seconds // 60}", 120)
    server.set(f"test:host:example.org:minute:{seconds // 60 - 5}", 999)  # long past
    report = crawl_report(server, KEYS)
    assert (report["queued"], report["leased"], report["starting"]) == (2, 1, 1)
    assert report["workers"]["w1"]["pages"] == 12 and report["workers"]["w1"]["leased"] == 1
    assert report["hosts"]["example.org"] == {"requests_last_60s": 120, "requests_per_second": 2.0}


def test_a_dead_local_renewer_of_a_shared_lease_does_not_free_it_for_another_crawl(s3, tmp_path):
    import json
    import socket
    import subprocess

    from archiving.s3 import S3Storage
    from tests.s3server import unique_bucket_name

    bucket = s3.create_bucket(unique_bucket_name("lease"))
    storage = S3Storage(f"s3://{bucket}/archive", s3.client(), tmp_path / "spool")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid of this machine that no longer runs: the last renewer, killed
    holder = {"owner": "w", "host": socket.gethostname(), "pid": gone.pid, "expires": time.time() + 300,
              "crawl": "redis://h:1/0/a:news"}
    s3.client().put_object(Bucket=bucket, Key=storage.key("locks/news.lease"), Body=json.dumps(holder).encode())
    with pytest.raises(ArchiveLocked):  # the crawl's workers on other machines still hold it
        storage.crawl_lock("news")
