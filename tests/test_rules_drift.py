"""Site rules fail safe: when a site's markup changes, extraction falls back to generic
trafilatura, still writes good text, and reports the drift once per site per crawl."""

import pytest

from pipelines.extraction import extract_article
from tests.helpers import fixture_html, replay_crawl

pytestmark = pytest.mark.crawl  # replayed scrapy crawls

VNP = "https://www.vietnamplus.vn"
# Two articles of the site's new layout: the body container lost its class.
REDESIGNED = [
    f"{VNP}/han-quoc-tang-tuyen-dung-lao-dong-nuoc-ngoai-cho-nganh-dong-tau-post1079301.vnp",
    f"{VNP}/nhat-ban-thong-qua-goi-kich-thich-kinh-te-quy-mo-lon-post1079302.vnp",
]
# The same two articles in the layout the rules were written for.
CURRENT_LAYOUT = [url.replace("post1079301", "post1078988").replace("post1079302", "post1078364") for url in REDESIGNED]
DRIFT_WARNING = "Site rules 'vietnamplus': body selector matched nothing; fell back to generic extraction"


@pytest.fixture(scope="module")
def redesigned_crawl(tmp_path_factory):
    return replay_crawl(tmp_path_factory.mktemp("drift"), "vietnamplus", "-a", "url=" + ",".join(REDESIGNED), "-s", "RELATED_DEPTH=0")


def test_redesigned_pages_are_still_archived_as_articles(redesigned_crawl):
    records, _, _ = redesigned_crawl
    assert sorted(r["url"] for r in records) == sorted(REDESIGNED)


def test_generic_fallback_gives_the_same_text_as_the_site_rules_did(redesigned_crawl):
    records, _, _ = redesigned_crawl
    for redesigned, current in zip(REDESIGNED, CURRENT_LAYOUT):
        fallback = next(r["text"] for r in records if r["url"] == redesigned)
        assert fallback == extract_article(fixture_html(current), current).text


def test_drift_is_counted_per_page_and_warned_once_per_site(redesigned_crawl):
    _, stats, log = redesigned_crawl
    assert stats["extraction/rules_drift/vietnamplus"] == 2
    assert log.count(DRIFT_WARNING) == 1


def test_pages_of_the_current_layout_report_no_drift(tmp_path):
    _, stats, log = replay_crawl(tmp_path, "vietnamplus", "-a", f"url={CURRENT_LAYOUT[0]}", "-s", "RELATED_DEPTH=0")
    assert not any(key.startswith("extraction/rules_drift") for key in stats)
    assert DRIFT_WARNING not in log
