"""Test-only components that fail on purpose, enabled in a test's crawl with ``-s``:

- ``-s ITEM_PIPELINES={"tests.faulty_components.FailingOpenPipeline": 900}``: a pipeline that
  cannot open (after the extraction pipeline has opened its pool of workers);
- ``-s SPIDER_MODULES=crawler.spiders,tests.faulty_components``, then ``scrapy crawl
  vietnamplus_buggy``: the vietnamplus spider with a bug in its page callback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from crawler.spiders import VietnamplusSpider


class InjectedFault(RuntimeError):
    """The error a test injected."""


class FailingOpenPipeline:
    def open_spider(self) -> None:
        raise InjectedFault("injected: this pipeline cannot open")

    def process_item(self, item: Any) -> Any:
        return item


class BuggyCallbackSpider(VietnamplusSpider):
    """Every page callback raises once it has given what the page gives (items, requests)."""

    name = "vietnamplus_buggy"

    def parse_page(self, response: Response) -> Iterator[Any]:
        yield from super().parse_page(response)
        raise InjectedFault(f"injected: a bug in the callback of {response.url}")
