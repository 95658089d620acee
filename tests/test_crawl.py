"""A replayed crawl of each site spider finds its seed page, the cited original and the
related articles, writes them all, and its WARCs pass every archive check."""

from collections import Counter

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiving.layout import article_id
from archiving.warcfile import payload_digest
from tests.helpers import item_feeds, run_scrapy
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl  # the demo crawl and scrapy subprocesses

VNP_ORIGINAL = "https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp"
NHANDAN_ORIGINAL = "https://nhandan.vn/mong-muon-cac-dia-phuong-cua-nhat-ban-cung-dong-hanh-voi-viet-nam-trong-giai-doan-phat-trien-moi-post925748.html"
VNVN = "https://www.vietnam.vn"
VNP = "https://www.vietnamplus.vn"
HNN = "https://huengaynay.vn"
LCV = "https://lecourrier.vn"
SGGP = "https://en.sggp.org.vn"

EXPECTED = {
    "vietnamvn": {
        "seed": [
            f"{VNVN}/en/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban",
            f"{VNVN}/nl/mong-muon-cac-dia-phuong-cua-nhat-ban-cung-dong-hanh-voi-viet-nam-trong-giai-doan-phat-trien-moi",
        ],
        "cited": [VNP_ORIGINAL, NHANDAN_ORIGINAL],
        "related": [
            f"{VNVN}/{lang}/{slug}"
            for lang in ("en", "nl")
            for slug in (
                "binh-minh-tuyet-dep-tren-bien-viet-nam",
                "du-lich-sapa-thu-nho-dam-minh-trong-ve-dep-hung-vi-tho-mong-cua-nui-rung-binh-lieu",
                "quan-ca-phe-ha-noi-hoa-troi-au-phun-tuyet-nhan-tao-hut-khach",
                "cuoc-song-hai-khong-cua-nguoi-dan-vung-lu-khanh-hoa-ngay-thu-5-chong-lu",
            )
        ],
    },
    "vietnamplus": {
        "seed": [],
        "cited": [VNP_ORIGINAL],
        "related": [
            f"{VNP}/dien-dan-hop-tac-dia-phuong-viet-nhat-dong-hanh-de-cung-phat-trien-toan-dien-post1077988.vnp",
            f"{VNP}/noi-nhip-cau-van-hoa-viet-nhat-post1078571.vnp",
            f"{VNP}/com-tam-viet-nam-xuat-hien-trong-thuc-don-cua-he-thong-an-nhanh-hang-dau-nhat-ban-post1078931.vnp",
            f"{VNP}/nhat-ban-thong-qua-goi-kich-thich-kinh-te-quy-mo-lon-post1078364.vnp",
            f"{VNP}/hoi-nghi-thuong-dinh-g20-khep-lai-tai-johannesburg-post1078702.vnp",
        ],
    },
    "nhandan": {
        "seed": [],
        "cited": [NHANDAN_ORIGINAL],
        "related": [
            "https://nhandan.vn/hop-tac-nguon-nhan-luc-tru-cot-moi-trong-quan-he-viet-nam-nhat-ban-post925612.html",
            "https://nhandan.vn/quang-ninh-day-manh-thu-hut-dau-tu-tu-doanh-nghiep-nhat-ban-post925655.html",
            "https://nhandan.vn/cong-dong-nguoi-viet-tai-nhat-ban-huong-ve-dong-bao-vung-lu-mien-trung-post925689.html",
        ],
    },
    "lecourrier": {
        "seed": [f"{LCV}/le-ministre-des-ae-recoit-le-gouverneur-de-la-prefecture-japonaise-de-gunma/1296098.html"],
        "cited": [],
        "related": [
            f"{LCV}/un-vice-ministre-des-ae-recoit-le-directeur-de-l-institut-de-gouvernement-et-de-gestion-matsushita/1296074.html",
            f"{LCV}/renforcer-la-cooperation-decentralisee-vietnam-japon/1296041.html",
            f"{LCV}/forum-de-cooperation-decentralisee-vietnam-japon-batir-un-avenir-durable/1296087.html",
        ],
    },
    "huengaynay": {
        "seed": [f"{HNN}/the-gioi/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-160296.html"],
        "cited": [VNP_ORIGINAL],
        "related": [
            f"{HNN}/van-hoa/noi-nhip-cau-van-hoa-viet-nhat-160219.html",
            f"{HNN}/the-gioi/com-tam-viet-nam-xuat-hien-trong-thuc-don-cua-he-thong-an-nhanh-hang-dau-nhat-ban-160266.html",
            f"{HNN}/du-lich/viet-nam-diem-sang-du-lich-dang-chuyen-minh-manh-me-160279.html",
            f"{HNN}/the-gioi/nhung-diem-sang-trong-buc-tranh-nhieu-gam-mau-doi-nghich-160251.html",
            f"{HNN}/chinh-tri/khang-dinh-vai-tro-cau-noi-quan-he-huu-nghi-viet-nam-thai-lan-trong-thoi-ky-moi-160226.html",
        ],
    },
    "sggp": {
        "seed": [f"{SGGP}/pm-receives-japanese-officials-attending-vietnamjapan-local-cooperation-forum-post122020.html"],
        "cited": [],
        "related": [
            f"{SGGP}/hcmc-launches-year-end-tourism-stimulus-programme-post122004.html",
            f"{SGGP}/relief-goods-from-hcmc-reach-flood-hit-residents-in-south-central-region-post121983.html",
            f"{SGGP}/hcmc-speeds-up-site-clearance-for-ring-road-no4-project-post121958.html",
        ],
    },
}
SPIDERS = sorted(EXPECTED)


def all_expected(spider: str) -> list[str]:
    return [url for kind in ("seed", "cited", "related") for url in EXPECTED[spider][kind]]


def test_scrapy_lists_every_site_spider_and_the_generic_one():
    result = run_scrapy(["list"])
    assert result.stdout.split() == sorted([*SPIDERS, "news"])


@pytest.mark.parametrize("spider", SPIDERS)
def test_crawl_emits_seed_cited_and_related_articles(demo_records, spider):
    emitted = {record["url"] for record in demo_records[spider]}
    missing = [url for url in all_expected(spider) if url not in emitted]
    assert missing == []


@pytest.mark.parametrize("spider", SPIDERS)
def test_each_article_is_written_as_text_and_json(demo_archive, demo_records, spider):
    for record in demo_records[spider]:
        base = demo_archive / "text" / record["site"] / article_id(record["canonical_url"])
        assert base.parent.joinpath(base.name + ".txt").is_file()
        assert base.parent.joinpath(base.name + ".json").is_file()


@pytest.mark.parametrize("spider", SPIDERS)
def test_records_point_at_their_warc_capture(demo_archive, demo_records, spider):
    for record in demo_records[spider]:
        assert (demo_archive / "warc" / spider / record["warc_filename"]).is_file()
        assert record["warc_record_id"].startswith("<urn:uuid:")


def test_records_carry_every_interface_field(demo_records):
    fields = [
        "url", "canonical_url", "site", "spider", "title", "author", "published", "language", "section",
        "tags", "lead", "text", "cites", "related", "links", "story_id", "content_digest", "warc_filename",
        "warc_record_id", "fetched_at", "version", "previous_digest",
    ]
    for records in demo_records.values():
        for record in records:
            assert list(record) == fields


def test_no_file_is_left_open_after_the_crawl(demo_archive):
    assert [p for p in demo_archive.rglob("*") if p.name.endswith((".open", ".tmp"))] == []


def test_every_closed_warc_has_its_cdxj_index(demo_archive):
    warcs = {p.name.removesuffix(".warc.gz") for p in demo_archive.glob("warc/*/*.warc.gz")}
    indexes = {p.name.removesuffix(".cdxj") for p in demo_archive.glob("indexes/*.cdxj")}
    assert warcs and warcs == indexes


def test_a_page_reached_by_several_spiders_is_stored_once(demo_archive):
    # The cited VietnamPlus original is fetched by its own spider, the aggregator's and Hue's (EXPECTED):
    # whichever fetches it first stores it, each of the others a revisit.
    reached_by = sorted(spider for spider in SPIDERS if VNP_ORIGINAL in all_expected(spider))
    captures = []  # (spider, record type) of each capture of the original
    payloads = Counter()
    for warc in demo_archive.glob("warc/*/*.warc.gz"):
        with warc.open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type in ("response", "revisit"):
                    if record.rec_headers.get_header("WARC-Target-URI") == VNP_ORIGINAL:
                        captures.append((warc.parent.name, record.rec_type))
                    digest = record.rec_headers.get_header("WARC-Payload-Digest")
                    if record.rec_type == "response" and record.http_headers.get_statuscode() == "200" and (
                            digest != payload_digest(b"")):  # empty bodies are never revisits
                        payloads[digest] += 1
    assert sorted(spider for spider, _ in captures) == reached_by
    assert Counter(kind for _, kind in captures) == {"response": 1, "revisit": len(reached_by) - 1}
    assert [digest for digest, n in payloads.items() if n > 1] == []


def test_warcs_pass_warcio_cdxj_and_pywb_replay(demo_archive, tmp_path):
    expected = sorted({url for spider in SPIDERS for url in all_expected(spider)})
    expected += ["https://www.vietnamplus.vn/robots.txt", "https://www.vietnamplus.vn/sitemap.xml"]
    report = validate_warcs(demo_archive / "warc", expected, tmp_path)
    print(f"warc-validate: {report.files} files, {report.records} records {report.record_types}, "
          f"{report.replayed} urls replayed, {len(report.failures)} failures")
    assert report.failures == []
    assert report.replayed == len(expected)


def test_single_url_crawl_from_the_command_line(tmp_path):
    result = run_scrapy([
        "crawl", "vietnamplus", "-a", f"url={VNP_ORIGINAL}", "-s", "REPLAY=tests/fixtures",
        "-s", f"ARCHIVE_URI={tmp_path}", "-s", "RELATED_DEPTH=0",
    ])
    assert result.returncode == 0, result.stderr[-2000:]
    records = [line for p in item_feeds(tmp_path, "vietnamplus") for line in p.read_text().splitlines()]
    assert len(records) == 1 and VNP_ORIGINAL in records[0]
