"""Project settings. Product settings are documented in README.md (Settings).

Each product setting can also come from the environment (``ARCHIVE_URI=... scrapy crawl``);
``-s NAME=VALUE`` wins over both. Defaults of components live in ``crawler.addon``.
"""

import os

from archiving.s3 import DEFAULTS as S3_DEFAULTS
from crawler.addon import DEFAULTS as PRODUCT_DEFAULTS

BOT_NAME = "news-archiver"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"
ADDONS = {"crawler.addon.Addon": 0}

# Product settings taken from the environment when set there (every setting of the README's table).
for _name in (*PRODUCT_DEFAULTS, *S3_DEFAULTS, "REDIS_URL", "SPOOL_DIR"):
    if _name in os.environ:
        globals()[_name] = os.environ[_name]

USER_AGENT = "news-archiver/0.1 (Scrapy; news archiving crawler)"
ROBOTSTXT_OBEY = True

# Politeness: one site is a handful of connections, slowed down when it slows down.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
# A news page is well under 1 MiB of HTML, a news sitemap (1,000 URLs at most) or feed far less:
# 16 MiB leaves room for images and heavy pages, and bounds the memory of 16 parallel downloads
# (Scrapy's 1 GiB would not). A longer body is cut there and archived with WARC-Truncated; a
# compressed body is also dropped when it decodes past it (crawler.sizelimits). 4 MiB warns.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
# Scrapy starts this many tasks for the output of every response, whatever its size; a news
# page yields one article and a few links (a sitemap's thousand requests take a few rounds).
CONCURRENT_ITEMS = 16
RETRY_TIMES = 2
# A failed download is logged once, by crawler.failures, not by every layer it crossed.
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"

# Bounds against traps (docs/reference.md, Limits): redirect chains, and URLs no article needs.
REDIRECT_MAX_TIMES = 10
URLLENGTH_LIMIT = 2000

# No remote consoles on a crawl server unless an operator turns them on.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# One article under two URLs (tracking parameters, www, old and new schemes) is fetched once.
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.CanonicalRequestFingerprinter"

# Host names resolving to private, loopback or reserved addresses are refused
# (crawler.addressguard); the resolver is process-wide, so it is set here.
TWISTED_DNS_RESOLVER = "crawler.addressguard.GuardedResolver"

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
