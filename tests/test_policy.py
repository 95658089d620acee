"""The crawl policy: what a crawl keeps of the articles it extracted."""

from datetime import date
from types import SimpleNamespace

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import ArticlePage
from pipelines.extraction import Extraction
from pipelines.policy import CrawlPolicyPipeline
from pipelines.record import build_record

SINCE = date(2025, 11, 20)


@pytest.fixture
def policy():
    crawler = get_crawler()
    crawler.stats.open_spider()
    crawler.spider = SimpleNamespace(params=SimpleNamespace(since=SINCE))
    return CrawlPolicyPipeline.from_crawler(crawler)


def record(url: str, published: str | None = "2025-11-25T15:50:00+07:00", *, canonical: str | None = None,
           since_applies: bool = True):
    page = ArticlePage(url=url, html="", canonical_url=canonical, since_applies=since_applies)
    return build_record(page, Extraction("generic", published=published, text="Một."))


def test_an_article_published_since_is_kept_and_counted(policy):
    item = record("https://a.vn/x-1.html")
    assert policy.process_item(item) is item
    assert policy.stats.get_value("extraction/articles") == 1


def test_an_article_discovery_found_from_before_since_is_dropped(policy):
    with pytest.raises(DropItem, match="before since"):
        policy.process_item(record("https://a.vn/x-1.html", "2025-11-19T23:00:00+07:00"))
    assert policy.stats.get_value("extraction/before_since") == 1


def test_an_explicitly_asked_article_is_kept_whatever_its_date(policy):
    item = record("https://a.vn/x-1.html", "2025-01-01T08:00:00+07:00", since_applies=False)
    assert policy.process_item(item) is item


def test_since_is_judged_on_the_day_the_page_states(policy):
    # 01:30 in Hanoi on the 20th is still the 19th in UTC: the newsroom printed the 20th.
    assert policy.process_item(record("https://a.vn/x-1.html", "2025-11-20T01:30:00+07:00"))


def test_a_second_page_naming_the_same_canonical_article_is_dropped(policy):
    policy.process_item(record("https://a.vn/x-1.html"))
    with pytest.raises(DropItem, match="Same article as https://a.vn/x-1.html"):
        policy.process_item(record("https://a.vn/amp/x-1.html", canonical="https://a.vn/x-1.html"))
    assert policy.stats.get_value("extraction/duplicates") == 1
    assert policy.stats.get_value("extraction/articles") == 1
