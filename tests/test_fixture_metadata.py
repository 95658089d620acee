"""Metadata of every article the demo crawl writes, held to what its page states: the title
is the page's headline, the published time is the page's to the minute with its UTC offset,
and the language is the edition's."""

from datetime import datetime

import lxml.html
import pytest

from tests.helpers import fixture_html

pytestmark = pytest.mark.crawl  # the demo crawl

EDITION_LANGUAGE = {"en.sggp.org.vn": "en", "huengaynay.vn": "vi", "lecourrier.vn": "fr", "nhandan.vn": "vi",
                    "www.vietnamplus.vn": "vi"}


@pytest.fixture(scope="module")
def articles(demo_records) -> list[tuple[dict, lxml.html.HtmlElement]]:
    unique = {r["url"]: r for records in demo_records.values() for r in records}
    return [(r, lxml.html.fromstring(fixture_html(r["url"]))) for r in unique.values()]


def test_title_is_the_pages_headline(articles):
    for record, page in articles:
        assert record["title"] == " ".join(page.xpath("string(//h1)").split()), record["url"]


def test_published_is_the_pages_time_to_the_minute_with_its_offset(articles):
    for record, page in articles:
        stated = page.xpath('string(//meta[@property="article:published_time"]/@content)')
        if not stated:
            continue
        published, expected = datetime.fromisoformat(record["published"]), datetime.fromisoformat(stated)
        assert published.utcoffset() == expected.utcoffset(), record["url"]
        assert published.replace(second=0, microsecond=0) == expected.replace(second=0, microsecond=0), record["url"]


def test_every_article_has_a_published_time_with_an_offset(articles):
    assert all(datetime.fromisoformat(r["published"]).utcoffset() is not None for r, _ in articles)


def test_language_is_the_editions(articles):
    for record, _ in articles:
        site = record["site"]
        expected = record["url"].split("/")[3] if site == "www.vietnam.vn" else EDITION_LANGUAGE[site]
        assert record["language"] == expected, record["url"]
