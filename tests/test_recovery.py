"""What a crash leaves is put right at the next start (archiving.recovery)."""

import gzip
import os
import subprocess
import sys

from archiving.layout import cdxj_path
from archiving.recovery import recover
from archiving.storage import LocalStorage
from archiving.warcfile import WarcFile
from tests.helpers import ROOT

WARC = "warc/news/news-20261206000000000000-00000-host-1.warc.gz"


def closed_warc(storage) -> None:
    warc = WarcFile(storage, WARC, {"software": "test", "isPartOf": "crawl-1"})
    warc.write_metadata("https://a.vn/x", "<urn:uuid:1>", b"title: \"x\"\r\n", "2026-12-06T00:00:00Z")
    warc.close()


def crash_while_writing(archive, path: str, data: bytes) -> None:
    """A process that dies holding ``path`` partial, as ``kill -9`` leaves it."""
    script = (f"import os; from archiving.storage import LocalStorage; s = LocalStorage({str(archive)!r});"
              f"f = s.open_partial({path!r}); f.write({data!r}); os._exit(9)")
    assert subprocess.run([sys.executable, "-c", script], cwd=ROOT).returncode == 9


def test_closed_warc_without_its_index_is_indexed(tmp_path):
    storage = LocalStorage(tmp_path)
    closed_warc(storage)
    index = storage.read(cdxj_path(WARC))
    storage.delete(cdxj_path(WARC))
    assert recover(storage).indexes_written == 1
    assert storage.read(cdxj_path(WARC)) == index


def test_partial_feed_of_a_dead_crawl_is_completed_without_its_torn_line(tmp_path):
    storage = LocalStorage(tmp_path)
    crash_while_writing(tmp_path, "items/news/c1.jsonl", b'{"url": "a"}\n{"url": ')
    done = recover(storage)
    assert done.feeds_repaired == 1 and storage.read("items/news/c1.jsonl") == b'{"url": "a"}\n'
    assert list(tmp_path.rglob("*.open")) == []


def test_partial_warc_with_no_whole_record_is_removed(tmp_path):
    storage = LocalStorage(tmp_path)
    crash_while_writing(tmp_path, WARC, gzip.compress(os.urandom(5000))[:50])
    done = recover(storage)
    assert (done.warcs_repaired, done.warcs_removed) == (1, 1)
    assert list(tmp_path.rglob("*.warc.gz*")) == []


def test_a_live_crawls_partial_is_left_alone(tmp_path):
    storage = LocalStorage(tmp_path)
    live = storage.open_partial("items/news/live.jsonl")
    live.write(b'{"url": ')
    assert recover(storage).feeds_repaired == 0
    assert (tmp_path / "items/news/live.jsonl.open").read_bytes() == b'{"url": '
    live.close()


def test_temporary_file_of_a_crashed_write_is_removed_and_a_live_ones_kept(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_atomic("text/a.vn/x.json", b"old")
    script = ("import os, tempfile, fcntl; fd, p = tempfile.mkstemp(prefix='.x.json.', suffix='.tmp', "
              f"dir={str(tmp_path / 'text/a.vn')!r}); fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'ne'); os._exit(9)")
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    assert recover(storage).temporaries_removed == 1
    assert os.listdir(tmp_path / "text/a.vn") == ["x.json"] and storage.read("text/a.vn/x.json") == b"old"
