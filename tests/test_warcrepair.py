import gzip
import os

from archiving.repair import repair, scan_members, truncate_torn_line


def members(*payloads: bytes) -> bytes:
    return b"".join(gzip.compress(p) for p in payloads)


def repaired(path):
    with path.open("r+b") as f:
        return repair(f)


def scanned(path):
    with path.open("rb") as f:
        return scan_members(f)


def test_complete_file_is_left_as_it_is(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    path.write_bytes(members(b"one", b"two", b"three"))
    scan = repaired(path)
    assert (scan.records, scan.good_bytes, scan.total_bytes) == (3, path.stat().st_size, path.stat().st_size)


def test_torn_last_member_is_cut(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    whole = members(b"one", b"two")
    path.write_bytes(whole + gzip.compress(os.urandom(5000))[:1000])
    scan = repaired(path)
    assert scan.records == 2 and scan.total_bytes - scan.good_bytes == 1000
    assert path.read_bytes() == whole


def test_garbage_after_complete_members_is_cut(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    whole = members(b"one")
    path.write_bytes(whole + b"\x00" * 64)
    assert repaired(path).records == 1 and path.read_bytes() == whole


def test_large_member_is_scanned_in_bounded_chunks(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    path.write_bytes(members(os.urandom(3_000_000), b"small"))
    assert scanned(path).records == 2


def test_file_with_no_complete_member_has_zero_records(tmp_path):
    path = tmp_path / "a.warc.gz.open"
    path.write_bytes(gzip.compress(os.urandom(5000))[:100])
    assert repaired(path).records == 0 and path.stat().st_size == 0


def test_torn_last_line_of_a_feed_is_cut(tmp_path):
    path = tmp_path / "c.jsonl.open"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    with path.open("r+b") as f:
        assert truncate_torn_line(f) == 6
    assert path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'


def test_feed_without_a_whole_line_is_emptied(tmp_path):
    path = tmp_path / "c.jsonl.open"
    path.write_bytes(b'{"a": ' * 30000)
    with path.open("r+b") as f:
        truncate_torn_line(f)
    assert path.read_bytes() == b""
