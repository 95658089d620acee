"""Request fingerprints on canonical URL keys, so one article under two URLs is fetched once."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from w3lib.url import canonicalize_url

from crawler.urls import url_key

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self


class CanonicalRequestFingerprinter:
    """REQUEST_FINGERPRINTER_CLASS: method + ``url_key`` + body (see crawler.urls)."""


    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        # A redirect often goes to another spelling of the same URL (https, www, a slash):
        # its target is told apart by its exact URL, or the duplicate filter would drop it.
        key = canonicalize_url(request.url) if request.meta.get("redirect_urls") else url_key(request.url)
        digest = hashlib.sha1()
        digest.update(request.method.encode())
        digest.update(key.encode())
        digest.update(request.body)
        return digest.digest()
