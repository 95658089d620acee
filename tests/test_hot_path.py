"""What every page costs the crawl process: nothing wasted, nothing kept (bench/crawl.py measures it)."""

from __future__ import annotations

import gc
import gzip
import weakref

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from crawler.sites import all_rules
from crawler.sizelimits import CountingHttpCompressionMiddleware
from crawler.spiders.base import DEPTH, KIND, spider_for
from crawler.items import ArticlePage
from tests.helpers import fixture_html

ARTICLE = "https://www.vietnamplus.vn/dien-dan-hop-tac-dia-phuong-viet-nhat-dong-hanh-de-cung-phat-trien-toan-dien-post1077988.vnp"


@pytest.fixture
def no_garbage_collector():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_a_page_is_freed_as_soon_as_the_spider_is_done_with_it(no_garbage_collector):
    # A page's parsed tree is about ten times its size: left in a reference cycle, every page
    # waits for the collector's rare full pass, and a crawl grows by hundreds of megabytes.
    crawler = get_crawler(spider_for(all_rules()["vietnamplus"]), {"INCREMENTAL_ENABLED": False})
    spider = crawler._create_spider()
    request = Request(ARTICLE, meta={KIND: "url", DEPTH: 0})
    response = HtmlResponse(ARTICLE, body=fixture_html(ARTICLE).encode(), encoding="utf-8", request=request)
    output = list(spider.parse_page(response))
    assert any(isinstance(item, ArticlePage) for item in output)
    freed = weakref.ref(response)
    del response, request
    assert freed() is None


def test_compressed_html_is_not_charset_sniffed_before_it_is_decompressed(monkeypatch):
    # Sniffing gzip bytes finds nothing and costs milliseconds a page.
    monkeypatch.setattr(TextResponse, "_auto_detect_fun", lambda self, text: pytest.fail("sniffed a compressed body"))
    page = '<html><head><meta charset="windows-1252"></head><body><p>Caf\xe9 Hu\xe9</p></body></html>'
    response = HtmlResponse("https://news.example/a", body=gzip.compress(page.encode("cp1252")),
                            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    middleware = CountingHttpCompressionMiddleware.from_crawler(get_crawler())
    decoded = middleware.process_response(Request("https://news.example/a"), response)
    assert isinstance(decoded, HtmlResponse)
    assert decoded.encoding == "cp1252"
    assert "Café Hué" in decoded.text


def test_a_compressed_answer_to_head_is_passed_on_as_received():
    response = HtmlResponse("https://news.example/a", body=b"",
                            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    middleware = CountingHttpCompressionMiddleware.from_crawler(get_crawler())
    assert middleware.process_response(Request("https://news.example/a", method="HEAD"), response) is response
