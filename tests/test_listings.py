"""Listing pages (sections, tags), their next pages and "load more" JSON lead to articles;
listing, tag, video and search pages are archived but never emitted as articles."""

import json

import pytest

from crawler.sites import all_rules
from crawler.urls import url_key

pytestmark = pytest.mark.crawl  # the demo crawl

VNP, ND, VNVN = "https://www.vietnamplus.vn", "https://nhandan.vn", "https://www.vietnam.vn"
# Articles that only a listing's page 2 or its "load more" JSON links.
ONLY_BEYOND_PAGE_ONE = {
    "vietnamplus": [f"{VNP}/cop30-khep-lai-voi-cam-ket-tang-tai-chinh-cho-thich-ung-khi-hau-post1078668.vnp",
                    f"{VNP}/australia-ho-tro-cac-dao-quoc-thai-binh-duong-ung-pho-bien-doi-khi-hau-post1078590.vnp",
                    f"{VNP}/indonesia-mo-rong-chuong-trinh-bua-an-mien-phi-cho-hoc-sinh-post1078210.vnp",
                    f"{VNP}/philippines-khan-truong-khac-phuc-hau-qua-bao-tai-luzon-post1078105.vnp"],
    "nhandan": ["post925660", "post925598"],
    "vietnamvn": ["/en/indonesia-", "/en/philippines-"],
    "lecourrier": ["/1296025.html", "/1296016.html", "/1295981.html"],
    "huengaynay": ["-160223.html", "-160187.html", "-160164.html"],
    "sggp": ["post121968", "post121955"],
}


def emitted(demo_records, spider) -> list[str]:
    return [r["url"] for r in demo_records[spider]]


@pytest.mark.parametrize("spider", sorted(ONLY_BEYOND_PAGE_ONE))
def test_articles_beyond_the_first_listing_page_are_found(demo_records, spider):
    urls = emitted(demo_records, spider)
    for fragment in ONLY_BEYOND_PAGE_ONE[spider]:
        assert any(fragment in url for url in urls), fragment


def cdxj(demo_archive) -> dict[str, str]:
    lines = [json.loads(line.split(" ", 2)[2]) for p in demo_archive.glob("indexes/*.cdxj") for line in p.read_text().splitlines()]
    return {entry["url"]: entry.get("status") for entry in lines}


@pytest.mark.parametrize("spider", sorted(ONLY_BEYOND_PAGE_ONE))
def test_listing_pages_are_archived_but_not_articles(demo_archive, demo_records, spider):
    captured = cdxj(demo_archive)
    keys = {url_key(u) for u in emitted(demo_records, spider)}
    for listing in all_rules()[spider].listings:
        assert captured.get(listing) == "200", listing
        assert url_key(listing) not in keys


def test_load_more_json_is_archived(demo_archive):
    captured = cdxj(demo_archive)
    assert captured["https://api.vietnamplus.vn/api/morenews-zone-209-3.html?phrase="] == "200"


def test_video_page_at_an_article_url_is_archived_but_not_an_article(demo_archive, demo_records):
    video = f"{VNP}/video/toan-canh-dien-dan-hop-tac-dia-phuong-viet-nhat-post1079180.vnp"
    assert cdxj(demo_archive)[video] == "200"
    assert video not in emitted(demo_records, "vietnamplus")


def test_records_carry_the_typed_link_graph(demo_records):
    record = next(r for r in demo_records["vietnamvn"] if r["url"].endswith("/en/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban"))
    rels = {link["rel"] for link in record["links"]}
    assert {"same_category", "same_tag", "cited_source", "canonical"} <= rels
    assert {"url": record["cites"][0], "rel": "cited_source"} in record["links"]
