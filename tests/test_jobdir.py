"""The job folder's journal (crawler.jobdir): a request is never lost to a crash, and never done twice.

Each test plays a crawl's scheduler as the engine drives it; "killed" is a run that never closes.
"""

from __future__ import annotations

from types import SimpleNamespace

from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.jobdir import DurableScheduler


class JobSpider(Spider):
    name = "job"
    crawl_id = "run"

    def parse(self, response):
        return []


class Run:
    """One run of the job: its scheduler, and the requests its engine has in progress."""

    def __init__(self, jobdir) -> None:
        # The plain priority queue: the downloader-aware one asks a real engine for its slots.
        crawler = get_crawler(JobSpider, {"JOBDIR": str(jobdir), "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue"})
        crawler.spider = crawler._create_spider()
        self.in_progress: set[Request] = set()
        crawler.engine = SimpleNamespace(_slot=SimpleNamespace(inprogress=self.in_progress))
        self.scheduler = DurableScheduler.from_crawler(crawler)
        self.scheduler.open(crawler.spider)
        self.stats = crawler.stats

    def next(self) -> Request | None:
        """The engine takes the next request and starts on it."""
        request = self.scheduler.next_request()
        if request is not None:
            self.in_progress.add(request)
        return request

    def finish(self, request: Request) -> None:
        self.in_progress.discard(request)

    def drain(self) -> list[str]:
        urls = []
        while (request := self.next()) is not None:
            urls.append(request.url)
            self.finish(request)
        return sorted(urls)


A, B, C = (f"https://example.org/{name}" for name in "abc")


def test_without_a_jobdir_it_is_scrapys_scheduler(tmp_path):
    crawler = get_crawler(JobSpider)
    assert DurableScheduler.from_crawler(crawler).journal is None


def test_requests_queued_when_the_crawl_dies_are_queued_again_by_the_next_run(tmp_path):
    first = Run(tmp_path)
    for url in (A, B):
        assert first.scheduler.enqueue_request(Request(url, callback=first.scheduler.spider.parse))
    assert Run(tmp_path).drain() == [A, B]


def test_a_request_in_progress_when_the_crawl_dies_is_queued_again_by_the_next_run(tmp_path):
    first = Run(tmp_path)
    first.scheduler.enqueue_request(Request(A))
    assert first.next().url == A  # downloading, or its items in the pipelines, when the crawl is killed
    assert Run(tmp_path).drain() == [A]


def test_a_request_the_engine_has_finished_is_not_done_again(tmp_path):
    first = Run(tmp_path)
    for url in (A, B):
        first.scheduler.enqueue_request(Request(url))
    done = first.next()
    first.finish(done)  # its response and every item it gave are processed
    other = first.next()  # the engine asks for the next one: the finished one is crossed off
    assert Run(tmp_path).drain() == [other.url] != [done.url]


def test_a_request_an_earlier_run_saw_is_filtered(tmp_path):
    Run(tmp_path).scheduler.enqueue_request(Request(A))
    second = Run(tmp_path)
    assert not second.scheduler.enqueue_request(Request(A))
    assert second.scheduler.enqueue_request(Request(A, dont_filter=True))
    assert second.stats.get_value("dupefilter/filtered") == 1


def test_a_clean_stop_keeps_what_is_still_queued(tmp_path):
    first = Run(tmp_path)
    for url in (A, B, C):
        first.scheduler.enqueue_request(Request(url))
    first.finish(first.next())
    first.scheduler.close("shutdown")
    assert len(Run(tmp_path).drain()) == 2


def test_the_journal_lists_the_runs_of_the_job(tmp_path):
    first = Run(tmp_path)
    Run(tmp_path)
    assert first.scheduler.journal.runs("job") == ["run", "run"]
