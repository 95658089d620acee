import pytest

from crawler.citations import (
    Citation,
    citations_in_page,
    citations_in_text,
    parse_credit_line,
    resolve_site_citation,
    seed_citations,
    slugify,
)
from crawler.spiders.base import is_article_url
from tests.helpers import ROOT

VNP = "https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp"
NHANDAN = "https://nhandan.vn/mong-muon-cac-dia-phuong-cua-nhat-ban-cung-dong-hanh-voi-viet-nam-trong-giai-doan-phat-trien-moi-post925748.html"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"Source: {VNP}", Citation(url=VNP)),
        (f"Bron: {NHANDAN}", Citation(url=NHANDAN)),
        (f"Source : {VNP}", Citation(url=VNP)),
        (f"Nguồn: {VNP}", Citation(url=VNP)),
        (f"(Quelle: {VNP})", Citation(url=VNP)),
        ("Theo vietnamplus.vn", Citation(site="vietnamplus.vn")),
        ("Nguồn: vietnamplus.vn", Citation(site="vietnamplus.vn")),
        ("Source: www.vietnamplus.vn/a-post1.vnp", Citation(url="https://www.vietnamplus.vn/a-post1.vnp")),
    ],
)
def test_credit_line_in_every_seed_language_is_parsed(line, expected):
    assert parse_credit_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Theo TTXVN",
        "(Nguồn: TTXVN)",
        "Theo ông Trung, hợp tác địa phương là điểm sáng.",
        "The source of the figures is https://example.org/report, he said.",
        "VNA/CVN",
    ],
)
def test_sentence_or_agency_credit_is_not_a_cited_url(line):
    assert parse_credit_line(line) is None


def test_seed_documents_cite_the_two_originals_and_a_bare_site():
    found = {(c.seed[:3], c.citation) for c in seed_citations(ROOT / "seeds")}
    assert found == {
        ("000", Citation(url=VNP)),
        ("002", Citation(site="vietnamplus.vn")),
        ("004", Citation(url=NHANDAN)),
    }


def test_bare_site_credit_keeps_the_seed_headline_slug():
    seed = next(c for c in seed_citations(ROOT / "seeds") if c.seed.startswith("002"))
    assert "quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban" in seed.headline_slugs


def test_slugify_strips_vietnamese_diacritics_like_the_cms():
    assert slugify("Quan hệ hợp tác địa phương là điểm sáng trong quan hệ Việt Nam-Nhật Bản") == (
        "quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban"
    )


def test_bare_site_resolves_to_the_linked_article_with_the_same_slug():
    own = "https://huengaynay.vn/the-gioi/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-160296.html"
    links = ["https://www.vietnamplus.vn/mot-bai-khac-post1078000.vnp", VNP, "https://www.vietnamplus.vn/thegioi"]
    assert resolve_site_citation("vietnamplus.vn", links, own, is_article_url) == VNP


def test_bare_site_without_a_linked_article_cites_the_site():
    assert resolve_site_citation("vietnamplus.vn", [], "https://a.vn/x", is_article_url) == "https://vietnamplus.vn/"


def test_page_credit_uses_the_link_inside_the_credit_line():
    html = f"""<html><body><article><p>Body text of the article, long enough.</p>
    <p class="credit">Theo <a href="{VNP}">vietnamplus.vn</a></p></article></body></html>"""
    assert citations_in_page(html, "https://huengaynay.vn/the-gioi/x-160296.html", is_article_url) == [VNP]


def test_credit_words_inside_body_sentences_are_not_citations():
    html = "<html><body><p>Theo vietnamplus.vn, ông Trung đã tiếp Thống đốc tỉnh Gunma tại Quảng Ninh.</p></body></html>"
    assert citations_in_page(html, "https://huengaynay.vn/a-1.html", is_article_url) == []


def test_citations_in_text_keeps_order_and_drops_duplicates():
    text = f"Body.\nSource: {VNP}\nBron: {NHANDAN}\nSource: {VNP}"
    assert citations_in_text(text) == [Citation(url=VNP), Citation(url=NHANDAN)]
