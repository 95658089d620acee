"""How crawls find articles: arguments, sitemaps, feeds, seeds, since, related depth."""

import shutil

import pytest

from crawler.sites import all_rules
from tests.helpers import ROOT
from tests.helpers import replay_crawl as crawl

pytestmark = pytest.mark.crawl  # replayed scrapy crawls

VNP = "https://www.vietnamplus.vn"
VNP_ORIGINAL = f"{VNP}/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp"


def urls(records: list[dict]) -> set[str]:
    return {r["url"] for r in records}


def listed_in(path: str, tag: str = "loc") -> set[str]:
    text = (ROOT / "tests/fixtures" / path).read_text()
    return {part.split(f"</{tag}>")[0].strip() for part in text.split(f"<{tag}>")[1:]}


def test_sitemap_given_as_url_is_expanded_to_its_articles(tmp_path):
    records, _, _ = crawl(tmp_path, "vietnamplus", "-a", f"url={VNP}/sitemap.xml", "-s", "RELATED_DEPTH=0")
    assert urls(records) == listed_in("www.vietnamplus.vn/sitemaps/news-2025-11.xml")


def test_feed_given_as_url_is_expanded_to_its_articles(tmp_path):
    records, _, _ = crawl(tmp_path, "nhandan", "-a", "url=https://nhandan.vn/rss/home.rss", "-s", "RELATED_DEPTH=0")
    assert urls(records) == listed_in("nhandan.vn/rss/home.rss", "link") - {"https://nhandan.vn/"}


def test_since_skips_older_entries_and_articles(tmp_path):
    records, stats, _ = crawl(tmp_path, "vietnamplus", "-a", "since=2025-11-24", "-s", "RELATED_DEPTH=0")
    assert records and all(r["published"] >= "2025-11-24" for r in records)
    assert stats["news/skipped/before_since"] > 0


def test_seed_crediting_a_bare_site_selects_the_article_with_its_headline_slug(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(ROOT / "seeds/002_7fd814692ccad4fe.txt", seeds)  # ends "Theo vietnamplus.vn"
    records, _, _ = crawl(tmp_path, "vietnamplus", "-a", f"seeds={seeds}", "-a", "since=2025-11-26", "-s", "RELATED_DEPTH=0")
    assert urls(records) == {VNP_ORIGINAL}


def test_seed_citations_start_the_crawl(tmp_path):
    _, stats, _ = crawl(tmp_path, "nhandan", "-s", "RELATED_DEPTH=0")
    assert stats["news/seed_citations"] == 1


def test_related_depth_zero_follows_no_related_link(tmp_path):
    records, stats, _ = crawl(tmp_path, "lecourrier", "-a",
                              "url=https://lecourrier.vn/le-ministre-des-ae-recoit-le-gouverneur-de-la-prefecture-japonaise-de-gunma/1296098.html",
                              "-s", "RELATED_DEPTH=0")
    assert len(records) == 1 and "news/followed/related" not in stats


def test_generic_spider_discovers_a_site_from_its_robots_txt(tmp_path):
    records, _, _ = crawl(tmp_path, "news", "-a", "site=https://lecourrier.vn/", "-s", "RELATED_DEPTH=0")
    assert urls(records) == listed_in("lecourrier.vn/sitemap-news.xml")


def test_extraction_disabled_archives_only(tmp_path):
    records, stats, _ = crawl(tmp_path, "sggp", "-s", "EXTRACTION_ENABLED=0")
    assert records == [] and stats["warc/exchanges"] > 5
    assert not (tmp_path / "archive/text").exists()
    assert list((tmp_path / "archive/indexes").glob("*.cdxj"))


def test_warc_files_rotate_at_warc_max_size(tmp_path):
    _, stats, _ = crawl(tmp_path, "sggp", "-s", "WARC_MAX_SIZE=20000")
    warcs = sorted((tmp_path / "archive/warc/sggp").glob("*.warc.gz"))
    assert len(warcs) == stats["warc/files_closed"] > 1
    assert len(list((tmp_path / "archive/indexes").glob("*.cdxj"))) == len(warcs)
    assert len({w.name.split("-")[2] for w in warcs}) == len(warcs)  # serials differ


VNP_OLD_SCHEME = f"{VNP}/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban/1079147.vnp"
VNVN_EN = "https://www.vietnam.vn/en/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban"


def test_one_article_under_several_urls_is_fetched_and_emitted_once(tmp_path):
    variants = [VNP_ORIGINAL, f"{VNP_ORIGINAL}?utm_source=rss&utm_medium=feed#comments",
                VNP_ORIGINAL.replace("https://www.", "http://"), VNP_OLD_SCHEME]
    records, stats, _ = crawl(tmp_path, "vietnamplus", "-a", "url=" + ",".join(variants), "-s", "RELATED_DEPTH=0")
    assert urls(records) == {VNP_ORIGINAL}
    assert stats["dupefilter/filtered"] == 3


def test_page_declaring_another_canonical_is_emitted_once(tmp_path):
    records, stats, _ = crawl(tmp_path, "vietnamvn", "-a", f"url={VNVN_EN},{VNVN_EN}?view=print", "-s", "RELATED_DEPTH=0")
    # Either URL may be extracted first; the record names the canonical URL either way.
    assert [r["canonical_url"] for r in records if r["site"] == "www.vietnam.vn"] == [VNVN_EN]
    assert stats["extraction/duplicates"] == 1


SITES = ["vietnamplus", "nhandan", "vietnamvn", "lecourrier", "huengaynay", "sggp"]


@pytest.mark.parametrize("source", ["sitemap", "feed"])
@pytest.mark.parametrize("spider", SITES)
def test_every_site_sitemap_and_feed_lead_to_its_articles(tmp_path, spider, source):
    rules = all_rules()[spider]
    start = rules.sitemaps[0] if source == "sitemap" else rules.feeds[0]
    records, stats, _ = crawl(tmp_path, spider, "-a", f"url={start}", "-s", "RELATED_DEPTH=0")
    assert stats[f"news/discovered/{source}"] >= 3
    assert len([r for r in records if rules.owns(r["url"])]) == stats[f"news/discovered/{source}"]


def test_since_applies_to_news_publication_date_when_a_sitemap_has_no_lastmod(tmp_path):
    records, stats, _ = crawl(tmp_path, "vietnamplus", "-a", f"url={VNP}/sitemaps/google-news.xml",
                              "-a", "since=2025-11-24", "-s", "RELATED_DEPTH=0")
    assert urls(records) == {
        f"{VNP}/bo-truong-ngoai-giao-le-hoai-trung-tiep-thong-doc-tinh-fukuoka-post1079210.vnp",
        f"{VNP}/han-quoc-tang-tuyen-dung-lao-dong-nuoc-ngoai-cho-nganh-dong-tau-post1078988.vnp",
    }
    assert stats["news/skipped/before_since"] == 1
