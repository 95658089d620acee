"""The news-archiver add-on: wires every component from the product's settings.

Defaults are set at ``addon`` priority, so project settings, ``-s`` options and
spider settings still win.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.utils.misc import load_object

from archiving.crawls import FEED_SCHEME
from archiving.layout import items_path
from archiving.storage import STORAGES_BASE
from crawler.hostlimits import shared_limits
from crawler.incremental import DEFAULT_INTERVALS, DEFAULT_MAX_AGE

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

PRIORITY = "addon"

DEFAULTS = {
    "ARCHIVE_URI": "archive",
    "ARCHIVE_STORAGES": {},  # URI scheme -> storage class, over ARCHIVE_STORAGES_BASE
    "REPLAY": None,
    "EXTRACTION_ENABLED": True,
    "EXTRACTION_WORKERS": 0,  # 0 = one worker process per core, at most 4
    "EXTRACTION_MAX_ELEMENTS": 30_000,  # pages with more HTML elements are archived, not extracted
    "RELATED_DEPTH": 1,
    "LISTING_MAX_PAGES": 5,
    "WARC_ENABLED": True,
    "WARC_MAX_SIZE": 1024**3,
    "WARC_OPERATOR": None,
    "WARC_REVISITS": "archive",
    "WARC_REDACT_HEADERS": "Authorization,Proxy-Authorization",  # request headers written as [redacted]
    "STATS_FILE": None,
    "STORIES_ENABLED": True,
    "PRIVATE_ADDRESS_ALLOWLIST": "",
    "INCREMENTAL_ENABLED": True,  # crawl state, conditional requests, recheck policy
    "CRAWL_STATE": None,  # the state's SQLite file (default: beside the archive, or the spool)
    "RECHECK_INTERVALS": DEFAULT_INTERVALS,  # after an article is stored or changes: recheck after each in turn
    "RECHECK_MAX_AGE": DEFAULT_MAX_AGE,  # never recheck an article older than this
    "RECRAWL": False,  # fetch every page in full, whatever the state
    "MAX_ERROR_RATE": 0.5,  # exit status 6 above this share of failed requests
    "RUN_SUMMARY_ENABLED": True,
    "RETRY_AFTER_MAX": 120,  # seconds: a longer Retry-After gives the page up for this crawl
    "ROBOTSTXT_MAX_SIZE": 512 * 1024,  # bytes of robots.txt parsed (RFC 9309: at least 500 KiB)
    "NETWORK_CHECK": True,  # scrapy crawl stops in one line (status 9) when its first URL is out of reach
    "PROGRESS_INTERVAL": 5.0,  # seconds between progress lines (crawler.progress); 0: none
    # Distributed crawls (crawler.distributed, docs/distributed.md): REDIS_URL switches them on.
    "REDIS_KEY_PREFIX": "news-archiver",
    "REDIS_LEASE": 60.0,  # seconds without a heartbeat after which a worker's requests go back to the queue
    "REDIS_IDLE_CLOSE": 0.0,  # seconds a worker of a finished crawl waits for pushed URLs before it closes
    "HOST_RATE_LIMIT": None,  # requests/s per host, all workers (None: 1 / DOWNLOAD_DELAY; 0: none)
    "HOST_CONCURRENCY_LIMIT": None,  # requests in flight per host, all workers (None: CONCURRENT_REQUESTS_PER_DOMAIN)
}

# Scrapy's downloader middlewares replaced by the product's subclasses, at the same place in the chain.
REPLACED_DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": ("crawler.robots.RFC9309RobotsTxtMiddleware", 100),
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": ("crawler.retry.RetryMiddleware", 550),
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": ("crawler.redirects.RedirectMiddleware", 600),
}

COMPRESSION = "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"

# Recordings have no server to be polite to, and do not change: no delays, no incremental skips.
REPLAY_POLITENESS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_ENABLED": False, "INCREMENTAL_ENABLED": False}

# A distributed crawl's shared per-host rate replaces each process's delay.
SHARED_POLITENESS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


class Addon:
    def update_settings(self, settings: BaseSettings) -> None:
        for name, value in DEFAULTS.items():
            settings.set(name, value, priority=PRIORITY)

        if settings.get("REPLAY"):
            for scheme in ("http", "https"):
                settings["DOWNLOAD_HANDLERS"][scheme] = "crawler.replay.ReplayDownloadHandler"
            # Over settings.py, under -s.
            for name, value in REPLAY_POLITENESS.items():
                settings.set(name, value, priority="project")
        # Live: Scrapy's HTTP/1.1 handler keeping status and header lines as received, cutting
        # bodies at DOWNLOAD_MAXSIZE instead of dropping them (crawler.download).
        for scheme in ("http", "https"):
            settings["DOWNLOAD_HANDLERS"].setdefault(scheme, "crawler.download.FaithfulHttpDownloadHandler")
        # Cut bodies are archived, then dropped before decompression (590); bombs are counted.
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", "crawler.sizelimits.TruncatedResponseMiddleware", 595)
        if not _configured(settings, "DOWNLOADER_MIDDLEWARES", HttpCompressionMiddleware):
            # Keyed by the path DOWNLOADER_MIDDLEWARES_BASE uses, so the None replaces its entry.
            settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", COMPRESSION, None)
            settings.setdefault_in_component_priority_dict(
                "DOWNLOADER_MIDDLEWARES", "crawler.sizelimits.CountingHttpCompressionMiddleware", 590
            )
        for scrapy_path, (path, priority) in REPLACED_DOWNLOADER_MIDDLEWARES.items():
            settings["DOWNLOADER_MIDDLEWARES"].setdefault(scrapy_path, None)
            settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", path, priority)
        # After decompression (590 in process_response): decodes the body Scrapy will read.
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", "crawler.charsets.CharsetConflictMiddleware", 570)
        # Outermost: it sees a failed download last, after retries, and logs it once.
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", "crawler.failures.DownloadFailureMiddleware", 10)
        settings.setdefault_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", "crawler.addressguard.AddressGuardMiddleware", 50
        )
        # After RedirectMiddleware (600) in process_response: the state records the final page.
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", "crawler.incremental.IncrementalMiddleware", 580)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", "pipelines.warc.WarcCapture", 100)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", "pipelines.storyindex.StoryIndex", 800)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", "crawler.outcome.RunSummary", 850)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", "crawler.sitestats.SiteStats", 500)
        # The progress line replaces Scrapy's per-minute LogStats line (crawler.progress).
        settings.setdefault_in_component_priority_dict("EXTENSIONS", "crawler.progress.CrawlProgress", 510)
        settings["EXTENSIONS"].setdefault("scrapy.extensions.logstats.LogStats", None)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", "crawler.extensions.StatsFile", 900)
        settings.setdefault_in_component_priority_dict("ITEM_PIPELINES", "pipelines.extraction.ExtractionPipeline", 300)
        settings.setdefault_in_component_priority_dict("ITEM_PIPELINES", "pipelines.policy.CrawlPolicyPipeline", 350)
        settings.setdefault_in_component_priority_dict("ITEM_PIPELINES", "pipelines.textstore.TextStorePipeline", 800)
        settings.set("ARCHIVE_STORAGES_BASE", STORAGES_BASE, priority=PRIORITY)
        if settings.get("REDIS_URL"):
            _distributed_profile(settings)
        else:
            # A JOBDIR that a killed crawl resumes without losing a request (crawler.jobdir).
            settings.set("SCHEDULER", "crawler.jobdir.DurableScheduler", priority=PRIORITY)
        # The items feed goes through the crawl's archive storage, whatever its backend.
        settings["FEED_STORAGES"].setdefault(FEED_SCHEME, "archiving.crawls.ArchiveFeedStorage")
        feed_uri = f"{FEED_SCHEME}:{items_path('%(name)s', '%(crawl_id)s')}"
        settings["FEEDS"].setdefault(feed_uri, {"format": "jsonlines", "encoding": "utf-8", "store_empty": True})


def _distributed_profile(settings: BaseSettings) -> None:
    """The workers share the queue, seen set and crawl state in Redis, and per-host limits that
    replace each process's own delay and AutoThrottle (crawler.distributed, crawler.hostlimits)."""
    settings.set("SCHEDULER", "crawler.distributed.RedisScheduler", priority=PRIORITY)
    try:
        rate, concurrency = shared_limits(settings)
    except ValueError:
        return  # not a number: the crawl command says so in one line (crawler.usage)
    settings.set("HOST_RATE_LIMIT", rate, priority=PRIORITY)
    settings.set("HOST_CONCURRENCY_LIMIT", concurrency, priority=PRIORITY)
    if rate > 0 and not settings.get("REPLAY"):
        for name, value in SHARED_POLITENESS.items():
            settings.set(name, value, priority="project")  # over settings.py, under -s
    settings.setdefault_in_component_priority_dict(
        "DOWNLOADER_MIDDLEWARES", "crawler.hostlimits.SharedHostLimitsMiddleware", 960)


def _configured(settings: BaseSettings, name: str, cls: type) -> bool:
    """The project names this component in the setting (to move or disable it): left as it says."""
    return any(load_object(key) is cls for key in settings.getdict(name))
