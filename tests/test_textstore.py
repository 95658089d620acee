import json

import pytest
from scrapy.utils.test import get_crawler

from archiving.layout import article_id
from pipelines.extraction import content_digest
from pipelines.textstore import TextStorePipeline

URL = "https://www.vietnamplus.vn/a-post1.vnp"


@pytest.fixture
def store(tmp_path):
    crawler = get_crawler(settings_dict={"ARCHIVE_URI": str(tmp_path)})
    crawler.stats.open_spider()
    return TextStorePipeline.from_crawler(crawler)


def record(text: str) -> dict:
    return {"url": URL, "canonical_url": URL, "site": "www.vietnamplus.vn", "title": "Tiêu đề", "text": text,
            "content_digest": content_digest(text), "version": 1, "previous_digest": None}


def stored(tmp_path) -> dict:
    return json.loads((tmp_path / "text/www.vietnamplus.vn" / f"{article_id(URL)}.json").read_text())


def test_first_text_is_version_one(store, tmp_path):
    store.store(record("Một."))
    assert (stored(tmp_path)["version"], stored(tmp_path)["previous_digest"]) == (1, None)
    assert (tmp_path / "text/www.vietnamplus.vn" / f"{article_id(URL)}.txt").read_text() == "Tiêu đề\n\nMột.\n"


def test_same_text_again_changes_nothing(store, tmp_path):
    store.store(record("Một."))
    again = record("Một.")
    store.store(again)
    assert again["version"] == 1 and store.stats.get_value("textstore/unchanged") == 1


def test_changed_text_is_the_next_version(store, tmp_path):
    store.store(record("Một."))
    store.store(record("Hai."))
    assert stored(tmp_path)["version"] == 2
    assert stored(tmp_path)["previous_digest"] == content_digest("Một.")
