"""The crawl benchmark's generated site (bench/site.py): the same for a seed, and a news site's shape."""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import lxml.html
import pytest

from bench.site import MAX_SIZE, MIN_SIZE, generate
from pipelines.extraction import extract_article

BASE = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("site")
    return folder, generate(folder, 30, BASE, seed=7)


def test_a_seed_gives_the_same_site_byte_for_byte(site, tmp_path):
    folder, paths = site
    assert generate(tmp_path, 30, BASE, seed=7) == paths
    compared = filecmp.dircmp(folder, tmp_path)
    assert not compared.left_only and not compared.right_only and not compared.diff_files


def test_articles_weigh_60_to_150_kib(site):
    folder, paths = site
    sizes = [(folder / path.lstrip("/")).stat().st_size for path in paths]
    assert all(MIN_SIZE - 4096 <= size <= MAX_SIZE + 4096 for size in sizes)


def test_sitemap_feed_and_robots_name_absolute_urls_of_the_articles(site):
    folder, paths = site
    sitemap = (folder / "sitemap-news-1.xml").read_text()
    assert re.findall(r"<loc>([^<]+)</loc>", sitemap) == [BASE + path for path in paths]
    assert f"Sitemap: {BASE}/sitemap.xml" in (folder / "robots.txt").read_text()
    assert f"<link>{BASE}{paths[-1]}</link>" in (folder / "rss.xml").read_text()


def test_extraction_keeps_the_body_and_drops_the_boilerplate(site):
    folder, paths = site
    html = (folder / paths[0].lstrip("/")).read_text()
    page = lxml.html.fromstring(html)
    body = [p.text_content() for p in page.xpath('//div[contains(@class, "article__body")]/p')]
    text = extract_article(html, BASE + paths[0], detect_language=False).text
    assert body[0] in text and body[-2] in text
    for boilerplate in page.xpath('//li[@class="comment"]/p/text() | //div[@class="story__summary"]/text()'):
        assert boilerplate not in text
