"""A payload already in the archive is stored once: a later capture, by a later crawl or by
another spider, is a revisit record that still replays as the page."""

import shutil

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.helpers import replay_crawl, run_scrapy
from tests.warc_checks import validate_warcs

pytestmark = pytest.mark.crawl  # replayed scrapy crawls

VNP = "https://www.vietnamplus.vn"
VNP_ORIGINAL = f"{VNP}/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp"
OTHER_ARTICLE = f"{VNP}/han-quoc-tang-tuyen-dung-lao-dong-nuoc-ngoai-cho-nganh-dong-tau-post1078988.vnp"
CRAWL = ["-a", f"url={VNP_ORIGINAL}", "-s", "RELATED_DEPTH=0"]


def captures_of(warc, url: str) -> list[tuple[str, dict]]:
    with warc.open("rb") as f:
        return [(r.rec_type, dict(r.rec_headers.headers)) for r in ArchiveIterator(f)
                if r.rec_type in ("response", "revisit") and r.rec_headers.get_header("WARC-Target-URI") == url]


def warcs(archive) -> set:
    return set((archive / "warc/vietnamplus").glob("*.warc.gz"))


def latest_crawl_id(archive) -> str:
    feeds = sorted((archive / "items/vietnamplus").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    return [p.stem for p in feeds if not p.stem.endswith(".stories")][-1]


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory):
    """An unrelated crawl, then the same article crawled twice into one archive: the WARCs of the two."""
    tmp = tmp_path_factory.mktemp("revisits")
    replay_crawl(tmp, "vietnamplus", "-a", f"url={OTHER_ARTICLE}", "-s", "RELATED_DEPTH=0")
    before = warcs(tmp / "archive")
    replay_crawl(tmp, "vietnamplus", *CRAWL)
    first = warcs(tmp / "archive") - before
    replay_crawl(tmp, "vietnamplus", *CRAWL)
    second = warcs(tmp / "archive") - before - first
    return tmp / "archive", first.pop(), second.pop()


def test_a_later_crawl_writes_a_revisit_that_names_the_earlier_record(two_crawls):
    _, first, second = two_crawls
    [(kind, original)] = captures_of(first, VNP_ORIGINAL)
    [(revisit_kind, revisit)] = captures_of(second, VNP_ORIGINAL)
    assert (kind, revisit_kind) == ("response", "revisit")
    assert revisit["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert revisit["WARC-Payload-Digest"] == original["WARC-Payload-Digest"]
    assert revisit["WARC-Refers-To-Target-URI"] == VNP_ORIGINAL
    assert revisit["WARC-Refers-To-Date"] == original["WARC-Date"]
    assert revisit["WARC-Refers-To"] == original["WARC-Record-ID"]


def test_the_archive_with_revisits_across_crawls_replays_every_capture(two_crawls, tmp_path):
    archive, _, _ = two_crawls
    report = validate_warcs(archive / "warc", [VNP_ORIGINAL], tmp_path)
    assert report.failures == []
    assert report.record_types["revisit"] >= 1


def test_wacz_of_a_crawl_carries_only_the_originals_it_revisits(two_crawls, tmp_path):
    archive, _, _ = two_crawls
    output = tmp_path / "later.wacz"
    result = run_scrapy(["wacz", "--crawl", latest_crawl_id(archive), "-o", str(output), "-s", f"ARCHIVE_URI={archive}"])
    assert result.returncode == 0, result.stderr[-2000:]
    # Its own WARC plus one of copied originals: not the unrelated crawl's WARC, not whole earlier files.
    assert f"{output}: 2 WARC file(s), 1 page(s); wacz validate: passed" in result.stdout
    (tmp_path / "unpacked").mkdir()
    shutil.unpack_archive(output, tmp_path / "unpacked", "zip")
    report = validate_warcs(tmp_path / "unpacked" / "archive", [VNP_ORIGINAL], tmp_path)
    assert report.failures == []


def test_wacz_refuses_a_crawl_whose_originals_are_gone(tmp_path):
    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    first = warcs(tmp_path / "archive")
    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    for warc in first:
        warc.unlink()
    result = run_scrapy(["wacz", "--crawl", latest_crawl_id(tmp_path / "archive"), "-o", str(tmp_path / "x.wacz"),
                         "-s", f"ARCHIVE_URI={tmp_path / 'archive'}"])
    assert result.returncode != 0
    assert "have no original left" in result.stderr


def test_a_pruned_original_is_archived_in_full_again(tmp_path):
    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    for warc in warcs(tmp_path / "archive"):
        warc.unlink()  # its CDXJ stays behind
    _, stats, _ = replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    [warc] = warcs(tmp_path / "archive")
    assert [kind for kind, _ in captures_of(warc, VNP_ORIGINAL)] == ["response"]
    assert "warc/revisits" not in stats


def test_a_stale_index_line_costs_a_full_copy_not_a_dangling_revisit(tmp_path):
    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    [index] = (tmp_path / "archive/indexes").glob("*.cdxj")
    # The index points every capture one byte off: nothing there reads back as the response.
    index.write_text("".join(line.replace('"offset": "', '"offset": "1', 1) for line in index.read_text().splitlines(True)))
    _, stats, log = replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    assert stats["warc/revisit_originals_missing"] >= 1
    assert "no such response is there: archiving it in full" in log


@pytest.mark.parametrize(("scope", "kinds"), [("crawl", ["response", "response"]), ("off", ["response", "response"])])
def test_revisits_can_be_limited_to_one_crawl_or_turned_off(tmp_path, scope, kinds):
    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    replay_crawl(tmp_path, "vietnamplus", *CRAWL, "-s", f"WARC_REVISITS={scope}")
    found = sorted(kind for warc in warcs(tmp_path / "archive") for kind, _ in captures_of(warc, VNP_ORIGINAL))
    assert found == kinds


def test_an_unknown_revisit_scope_stops_the_crawl(tmp_path):
    result = run_scrapy(["crawl", "vietnamplus", *CRAWL, "-s", "REPLAY=tests/fixtures", "-s", "WARC_REVISITS=always",
                         "-s", f"ARCHIVE_URI={tmp_path}"])
    assert "WARC_REVISITS must be one of archive, crawl, off, not 'always'" in result.stderr


def test_live_captures_never_revisit_replayed_ones(tmp_path):
    from archiving.payloads import PayloadIndex
    from archiving.storage import LocalStorage

    replay_crawl(tmp_path, "vietnamplus", *CRAWL)
    live = PayloadIndex(LocalStorage(str(tmp_path / "archive")), replayed=False)
    live.load()
    replayed = PayloadIndex(LocalStorage(str(tmp_path / "archive")), replayed=True)
    replayed.load()
    assert len(live) == 0 and len(replayed) > 0
