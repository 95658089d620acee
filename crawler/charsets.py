"""When the HTTP header and the page disagree about the charset, believe the bytes.

Scrapy follows the HTML standard: the ``Content-Type`` charset wins over ``<meta charset>``.
Servers, though, often add a default ``charset=iso-8859-1`` to pages written in UTF-8, and
the article comes out as mojibake. ``CharsetConflictMiddleware`` decodes such a page with the
page's own charset when the bytes are valid in it and the header's charset is a server
default or fails on them; ``charset/header_meta_conflict`` counts the pages it re-decoded.
A BOM still wins over both, as in browsers.
"""

from __future__ import annotations

import codecs
import logging
from typing import TYPE_CHECKING

from scrapy.http import HtmlResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

# What servers send when nobody configured a charset: no evidence about the page at all.
SERVER_DEFAULTS = frozenset({"cp1252", "latin_1", "iso8859-1", "ascii"})


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        codecs.decode(body, encoding, "strict")
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def page_encoding_over_header(body: bytes, content_type: str) -> str | None:
    """The page's declared encoding when it should win over the header's, else None."""
    header, page = http_content_type_encoding(content_type), html_body_declared_encoding(body)
    if not header or not page or read_bom(body)[0]:
        return None
    header, page = resolve_encoding(header), resolve_encoding(page)
    if not header or not page or codecs.lookup(header).name == codecs.lookup(page).name:
        return None
    if _decodes(body, page) and (codecs.lookup(header).name in SERVER_DEFAULTS or not _decodes(body, header)):
        return page
    return None


class CharsetConflictMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if not isinstance(response, HtmlResponse):
            return response
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        encoding = page_encoding_over_header(response.body, content_type)
        if encoding is None:
            return response
        logger.info("Charset of %s: the header says %r, the page %r and its bytes agree: decoded as %s",
                    response.url, http_content_type_encoding(content_type), html_body_declared_encoding(response.body),
                    encoding)
        self.stats.inc_value("charset/header_meta_conflict")
        return response.replace(encoding=encoding)
