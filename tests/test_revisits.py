"""A payload already in the archive is stored once: a later capture, by a later crawl or by
another spider, is a revisit record that still replays as the page."""

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.helpers import replay_crawl, run_scrapy
from tests.warc_checks import validate_warcs

VNP_ORIGINAL = ("https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban"
                "-post1079147.vnp")
CRAWL = ["-a", f"url={VNP_ORIGINAL}", "-s", "RELATED_DEPTH=0"]


def captures_of(warc, url: str) -> list[tuple[str, dict]]:
    with warc.open("rb") as f:
        return [(r.rec_type, dict(r.rec_headers.headers)) for r in ArchiveIterator(f)
                if r.rec_type in ("response", "revisit") and r.rec_headers.get_header("WARC-Target-URI") == url]


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory):
    """The same article crawled twice into one archive; the WARCs of each crawl, oldest first."""
    tmp = tmp_path_factory.mktemp("revisits")
    replay_crawl(tmp, "vietnamplus", *CRAWL)
    first = sorted((tmp / "archive/warc/vietnamplus").glob("*.warc.gz"))
    replay_crawl(tmp, "vietnamplus", *CRAWL)
    second = sorted(set((tmp / "archive/warc/vietnamplus").glob("*.warc.gz")) - set(first))
    return tmp / "archive", first, second


def test_a_later_crawl_writes_a_revisit_of_the_earlier_capture(two_crawls):
    _, first, second = two_crawls
    [(kind, original)] = captures_of(first[0], VNP_ORIGINAL)
    [(revisit_kind, revisit)] = captures_of(second[0], VNP_ORIGINAL)
    assert (kind, revisit_kind) == ("response", "revisit")
    assert revisit["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert revisit["WARC-Payload-Digest"] == original["WARC-Payload-Digest"]
    assert revisit["WARC-Refers-To-Target-URI"] == VNP_ORIGINAL
    assert revisit["WARC-Refers-To-Date"] == original["WARC-Date"][:19] + "Z"


def test_the_archive_with_revisits_across_crawls_replays_every_capture(two_crawls, tmp_path):
    archive, _, _ = two_crawls
    report = validate_warcs(archive / "warc", [VNP_ORIGINAL], tmp_path)
    assert report.failures == []
    assert report.record_types["revisit"] >= 1


def test_wacz_of_the_later_crawl_carries_the_warc_of_the_original(two_crawls, tmp_path):
    archive, _, _ = two_crawls
    feeds = sorted((archive / "items/vietnamplus").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    later_crawl = [p.stem for p in feeds if not p.stem.endswith(".stories")][-1]
    output = tmp_path / "later.wacz"
    result = run_scrapy(["wacz", "--crawl", later_crawl, "-o", str(output), "-s", f"ARCHIVE_URI={archive}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{output}: 2 WARC file(s), 1 page(s); wacz validate: passed" in result.stdout


def test_revisits_can_be_limited_to_one_crawl(tmp_path):
    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    replay_crawl(tmp_path, "vietnamplus", *CRAWL, "-s", "WARC_REVISITS=crawl")
    kinds = sorted(kind for warc in (tmp_path / "archive/warc/vietnamplus").glob("*.warc.gz")
                   for kind, _ in captures_of(warc, VNP_ORIGINAL))
    assert kinds == ["response", "response"]
