import json
import os
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from archiving.layout import article_id
from crawler.items import ArticlePage
from pipelines.extraction import Extraction
from pipelines.record import ArticleRecord, build_record, content_digest
from pipelines.textstore import TextStorePipeline

URL = "https://www.vietnamplus.vn/a-post1.vnp"


@pytest.fixture
def store(tmp_path):
    crawler = get_crawler(settings_dict={"ARCHIVE_URI": str(tmp_path)})
    crawler.stats.open_spider()
    return TextStorePipeline.from_crawler(crawler)


def record(text: str) -> ArticleRecord:
    page = ArticlePage(url=URL, html="", site="www.vietnamplus.vn")
    return build_record(page, Extraction("vietnamplus", title="Tiêu đề", text=text))


def stored(tmp_path) -> dict:
    return json.loads((tmp_path / "text/www.vietnamplus.vn" / f"{article_id(URL)}.json").read_text())


def test_first_text_is_version_one(store, tmp_path):
    store.store(record("Một."))
    assert (stored(tmp_path)["version"], stored(tmp_path)["previous_digest"]) == (1, None)
    assert (tmp_path / "text/www.vietnamplus.vn" / f"{article_id(URL)}.txt").read_text() == "Tiêu đề\n\nMột.\n"


def files(root) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: its bytes, modification time and inode (an atomic rewrite is a new inode)."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_text_again_leaves_the_archive_files_untouched(store, tmp_path):
    store.store(record("Một."))
    for path in tmp_path.rglob("*"):  # back-dated, so a rewrite shows even within the clock's resolution
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = files(tmp_path)
    assert {Path(name).suffix for name in before if name.startswith("text/")} == {".txt", ".json"}
    store.store(record("Một."))
    assert files(tmp_path) == before


def test_same_text_again_keeps_its_version_and_is_counted_unchanged(store):
    store.store(record("Một."))
    again = record("Một.")
    store.store(again)
    assert (again.version, again.previous_digest) == (1, None)
    assert store.stats.get_value("textstore/unchanged") == 1


def test_changed_text_is_the_next_version(store, tmp_path):
    store.store(record("Một."))
    store.store(record("Hai."))
    assert stored(tmp_path)["version"] == 2
    assert stored(tmp_path)["previous_digest"] == content_digest("Một.")
