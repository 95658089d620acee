import gzip
import os

from pipelines.warcrepair import repair, scan_members


def members(*payloads: bytes) -> bytes:
    return b"".join(gzip.compress(p) for p in payloads)


def test_complete_file_is_left_as_it_is(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    path.write_bytes(members(b"one", b"two", b"three"))
    scan = repair(path)
    assert (scan.records, scan.good_bytes, scan.total_bytes) == (3, path.stat().st_size, path.stat().st_size)


def test_torn_last_member_is_cut(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    whole = members(b"one", b"two")
    path.write_bytes(whole + gzip.compress(os.urandom(5000))[:1000])
    scan = repair(path)
    assert scan.records == 2 and scan.total_bytes - scan.good_bytes == 1000
    assert path.read_bytes() == whole


def test_garbage_after_complete_members_is_cut(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    whole = members(b"one")
    path.write_bytes(whole + b"\x00" * 64)
    assert repair(path).records == 1 and path.read_bytes() == whole


def test_large_member_is_scanned_in_bounded_chunks(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    path.write_bytes(members(os.urandom(3_000_000), b"small"))
    assert scan_members(path).records == 2


def test_file_with_no_complete_member_has_zero_records(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    path.write_bytes(gzip.compress(os.urandom(5000))[:100])
    assert repair(path).records == 0 and path.stat().st_size == 0
