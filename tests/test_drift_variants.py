"""Pages of our six sites after a redesign (tests/drift.py: classes and ids renamed, wrappers
added, related blocks moved before, inside and after the body) still give their golden text,
keep none of the teasers, and are counted as rules drift (issue #14).

Golden text: a seed page's ``body`` (tests/data/golden); for the other pages, their article text
as read from the page and checked by hand (tests/data/drift/<page>.txt: lead, paragraphs, the
agency's sign-off). Boilerplate lines: a seed's own, and on every page what its
related blocks print (headings, teaser titles, summaries, dates).
"""

from __future__ import annotations

import re
import shutil
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest

from crawler.replay import FixtureStore
from crawler.sites import rules_for_url
from pipelines.evaluation import precision_recall
from pipelines.extraction import Extraction, extract_article
from tests.drift import VARIANTS, body_container, make_variant, related_blocks, renamed_rules, teaser_lines, variant_url
from tests.helpers import FIXTURES, fixture_html, golden_seeds, replay_crawl

RECALL, PRECISION = 0.98, 0.97
DRIFT_GOLDEN = Path(__file__).parent / "data" / "drift"
SEEDS = {seed["url"]: seed for seed in golden_seeds()}
# At least one more page per site, with a related block of each kind the site has.
DERIVED = [
    "https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp",
    "https://www.vietnamplus.vn/bo-truong-ngoai-giao-le-hoai-trung-tiep-thong-doc-tinh-fukuoka-post1079210.vnp",
    "https://nhandan.vn/mong-muon-cac-dia-phuong-cua-nhat-ban-cung-dong-hanh-voi-viet-nam-trong-giai-doan-phat-trien-moi-post925748.html",
    "https://nhandan.vn/chu-tich-nuoc-tiep-thong-doc-tinh-gunma-nhat-ban-post780512.html",
    "https://lecourrier.vn/le-vice-premier-ministre-recoit-une-delegation-de-la-prefecture-d-osaka/1296064.html",
    "https://huengaynay.vn/the-gioi/bo-truong-ngoai-giao-le-hoai-trung-tiep-thong-doc-tinh-fukuoka-160301.html",
    "https://en.sggp.org.vn/vietnam-japan-seek-to-boost-cooperation-in-semiconductor-training-post122031.html",
    "https://www.vietnam.vn/en/phien-toan-the-dien-dan-hop-tac-dia-phuong-viet-nam-nhat-ban-ket-noi-de-cung-phat-trien",
]
PAGES = sorted([*SEEDS, *DERIVED], key=lambda url: (rules_for_url(url).name, url))


def page_id(url: str) -> str:
    """``<site>-<article id>``, or ``<site>-<path start>`` for a site without ids: unique among PAGES."""
    rules, path = rules_for_url(url), urlsplit(url).path
    match = re.search(rules.article_id, path) if rules.article_id else None
    return f"{rules.name}-{match[1] if match else path.strip('/').replace('/', '-')[:20]}"


CASES = [pytest.param(url, variant, id=f"{page_id(url)}-{variant}") for url in PAGES for variant in VARIANTS]
PAGE_PARAMS = [pytest.param(url, id=page_id(url)) for url in PAGES]


@cache
def golden(url: str) -> tuple[str, tuple[str, ...]]:
    """(golden text, boilerplate lines) of the page at ``url``."""
    html = fixture_html(url)
    teasers = teaser_lines(html, url)
    if seed := SEEDS.get(url):
        return "\n".join(seed["body"]), tuple(dict.fromkeys([*seed["boilerplate"], *teasers]))
    return (DRIFT_GOLDEN / f"{page_id(url)}.txt").read_text(encoding="utf-8"), tuple(teasers)


@cache
def variant_html(url: str, variant: str) -> str:
    return make_variant(fixture_html(url), url, variant)


@cache
def extracted(url: str, variant: str | None) -> Extraction:
    """extract_article of the variant (None: of the unmodified page)."""
    html = fixture_html(url) if variant is None else variant_html(url, variant)
    return extract_article(html, url)


def boilerplate_kept(text: str, boilerplate: tuple[str, ...]) -> list[str]:
    """The boilerplate lines in ``text``, as tests/test_golden_text.py counts them."""
    paragraphs = text.split("\n\n")
    return [line for line in boilerplate if line in paragraphs or (len(line.split()) >= 4 and line in text)]


def tree_of(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def located(url: str, variant: str) -> tuple[lxml.html.HtmlElement, list[lxml.html.HtmlElement]]:
    """The body container and related blocks of a variant, found by the site's selectors renamed."""
    tree, rules = tree_of(variant_html(url, variant)), renamed_rules(rules_for_url(url))
    return body_container(tree, rules), related_blocks(tree, rules)


# -- the golden text and boilerplate lines are fair: the unmodified page meets them ----------


@pytest.mark.parametrize("url", PAGE_PARAMS)
def test_site_rules_on_the_unmodified_page_give_the_golden_text(url):
    text, _ = golden(url)
    precision, recall = precision_recall(extracted(url, None).text, text)
    assert recall >= RECALL and precision >= PRECISION


@pytest.mark.parametrize("url", PAGE_PARAMS)
def test_site_rules_on_the_unmodified_page_keep_no_boilerplate_line(url):
    assert boilerplate_kept(extracted(url, None).text, golden(url)[1]) == []


# -- the generator does what it says ------------------------------------------------------------


@pytest.mark.parametrize("url, variant", CASES)
def test_no_body_or_related_selector_of_the_site_matches_the_variant(url, variant):
    rules, tree = rules_for_url(url), tree_of(variant_html(url, variant))
    selectors = [*rules.selectors.body, *(css for csss in rules.links.values() for css in csss)]
    assert [css for css in selectors if tree.cssselect(css)] == []


@pytest.mark.parametrize("url", PAGE_PARAMS)
def test_variants_are_the_same_on_every_run(url):
    html = fixture_html(url)
    assert all(make_variant(html, url, v) == make_variant(html, url, v) for v in VARIANTS)


@pytest.mark.parametrize("url", PAGE_PARAMS)
def test_related_blocks_moved_before_are_the_siblings_just_before_the_body(url):
    body, blocks = located(url, "related_before")
    assert blocks and list(body.itersiblings(preceding=True))[: len(blocks)] == blocks[::-1]


@pytest.mark.parametrize("url", PAGE_PARAMS)
def test_related_blocks_moved_inside_sit_between_two_paragraphs_of_the_body(url):
    body, blocks = located(url, "related_inside")
    assert blocks and all(block.getparent() is body for block in blocks)
    assert blocks[0].getprevious().tag == "p" and blocks[-1].getnext().tag == "p"
    assert list(blocks[0].itersiblings())[: len(blocks) - 1] == blocks[1:]


@pytest.mark.parametrize("url", PAGE_PARAMS)
def test_related_blocks_moved_after_are_the_siblings_just_after_the_body(url):
    body, blocks = located(url, "related_after")
    assert blocks and list(body.itersiblings())[: len(blocks)] == blocks


def test_variant_urls_are_articles_of_the_site_with_ids_of_their_own():
    from crawler.urls import url_key

    urls = [variant_url(url, n) for url in PAGES for n in range(1, len(VARIANTS) + 1)]
    assert all(rules_for_url(u).is_article(u) for u in urls)
    assert len({url_key(u) for u in [*urls, *PAGES]}) == len(urls) + len(PAGES)


# -- extraction of the variants -----------------------------------------------------------------


@pytest.mark.parametrize("url, variant", CASES)
def test_variant_is_flagged_as_rules_drift(url, variant):
    assert extracted(url, variant).rules_drift is True


@pytest.mark.parametrize("url, variant", CASES)
def test_variant_text_holds_the_golden_text(url, variant):
    _, recall = precision_recall(extracted(url, variant).text, golden(url)[0])
    assert recall >= RECALL


@pytest.mark.parametrize("url, variant", CASES)
def test_variant_text_holds_little_but_the_golden_text(url, variant):
    precision, _ = precision_recall(extracted(url, variant).text, golden(url)[0])
    assert precision >= PRECISION


@pytest.mark.parametrize("url, variant", CASES)
def test_variant_text_has_no_boilerplate_line(url, variant):
    assert boilerplate_kept(extracted(url, variant).text, golden(url)[1]) == []


# -- the crawl counts them ----------------------------------------------------------------------


@pytest.mark.crawl
def test_replayed_crawl_counts_every_variant_as_rules_drift_of_its_site(tmp_path):
    replay = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, replay)
    store, urls, expected = FixtureStore(replay), [], {}
    for url in PAGES:
        for number, variant in enumerate(VARIANTS, 1):
            moved = variant_url(url, number)
            path = store.path_for(moved)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(variant_html(url, variant), encoding="utf-8")
            urls.append(moved)
            site = rules_for_url(url).name
            expected[site] = expected.get(site, 0) + 1
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    _, stats, _ = replay_crawl(tmp_path, "news", "-a", f"urls_file={tmp_path / 'urls.txt'}", "-s", "RELATED_DEPTH=0",
                               replay=replay)
    counted = {key.rsplit("/", 1)[1]: n for key, n in stats.items() if key.startswith("extraction/rules_drift/")}
    assert counted == expected
