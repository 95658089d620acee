"""The archive storage interface, on a local folder (S3 has its own tests against a real S3 API)."""

import os
import subprocess
import sys

import pytest
from scrapy.settings import Settings

from archiving.storage import ArchiveUnavailable, ArchiveWriteError, LocalStorage, open_archive, storage_class
from crawler.addon import DEFAULTS
from tests.helpers import ROOT


def settings(**values) -> Settings:
    return Settings({**DEFAULTS, "ARCHIVE_STORAGES": {}, **values})


def test_local_folder_is_the_default_storage(tmp_path):
    assert isinstance(open_archive(settings(ARCHIVE_URI=str(tmp_path))), LocalStorage)
    assert open_archive(settings(ARCHIVE_URI=f"file://{tmp_path}")).root == tmp_path


def test_registry_setting_adds_a_scheme():
    registry = {"mem": "archiving.storage.LocalStorage"}
    assert storage_class(settings(ARCHIVE_STORAGES=registry), "mem://x") is LocalStorage


def test_unknown_scheme_is_refused_with_the_setting_named():
    with pytest.raises(ArchiveUnavailable, match=r"ARCHIVE_URI=ftp://x/y: unsupported scheme 'ftp' \(a folder, or one of"):
        open_archive(settings(ARCHIVE_URI="ftp://x/y"))


def test_path_under_a_file_is_not_writable(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArchiveUnavailable, match="is not writable: Not a directory"):
        LocalStorage(str(tmp_path / "file" / "archive")).check_writable()


def test_writable_check_leaves_nothing_behind(tmp_path):
    LocalStorage(str(tmp_path / "a")).check_writable()
    assert os.listdir(tmp_path / "a") == []


def test_atomic_write_creates_folders_and_leaves_no_temp_file(tmp_path):
    storage = LocalStorage(str(tmp_path))
    storage.write_atomic("text/a.vn/x.json", b"{}")
    assert (tmp_path / "text/a.vn/x.json").read_bytes() == b"{}"
    assert os.listdir(tmp_path / "text/a.vn") == ["x.json"]


def test_crash_mid_write_keeps_the_old_file_whole(tmp_path, monkeypatch):
    storage = LocalStorage(str(tmp_path))
    storage.write_atomic("x.txt", b"old text")

    def crash(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(ArchiveWriteError, match="cannot write .*x.txt: No space left on device"):
        storage.write_atomic("x.txt", b"new text that never lands")
    assert (tmp_path / "x.txt").read_bytes() == b"old text"
    assert os.listdir(tmp_path) == ["x.txt"]


def test_partial_file_appears_under_its_name_only_when_complete(tmp_path):
    storage = LocalStorage(str(tmp_path))
    file = storage.open_partial("warc/s/a.warc.gz")
    file.write(b"data")
    assert (tmp_path / "warc/s/a.warc.gz.open").exists()
    assert storage.list("warc/") == []
    storage.complete("warc/s/a.warc.gz", file)
    assert (tmp_path / "warc/s/a.warc.gz").read_bytes() == b"data"
    assert [(e.path, e.size) for e in storage.list("warc/")] == [("warc/s/a.warc.gz", 4)]


def test_list_is_by_prefix_sorted_and_skips_temporaries(tmp_path):
    storage = LocalStorage(str(tmp_path))
    for path in ("text/b/2.json", "text/a/1.json", "indexes/x.cdxj"):
        storage.write_atomic(path, b"{}")
    (tmp_path / "text/a/.1.json.123.tmp").write_bytes(b"torn")
    assert [e.path for e in storage.list("text/")] == ["text/a/1.json", "text/b/2.json"]
    assert [e.path for e in storage.list("text/a")] == ["text/a/1.json"]


def test_read_range_and_stream(tmp_path):
    storage = LocalStorage(str(tmp_path))
    storage.write_atomic("warc/s/a.warc.gz", b"0123456789")
    assert storage.read_range("warc/s/a.warc.gz", 3, 4) == b"3456"
    with storage.open_read("warc/s/a.warc.gz") as stream:
        assert stream.read() == b"0123456789"
    assert storage.read("warc/s/missing") is None and storage.size("warc/s/a.warc.gz") == 10


def test_a_live_writers_partial_is_not_stale_but_a_dead_ones_is(tmp_path):
    storage = LocalStorage(str(tmp_path))
    live = storage.open_partial("warc/s/live.warc.gz")
    # A crawl killed while writing: its lock died with it.
    dead = subprocess.run([sys.executable, "-c", (
        "import os; from archiving.storage import LocalStorage;"
        f"f = LocalStorage({str(tmp_path)!r}).open_partial('warc/s/dead.warc.gz'); f.write(b'x'); f.flush();"
        "os._exit(9)")], cwd=ROOT)
    assert dead.returncode == 9
    stale = [(path, file.close())[0] for path, file in storage.stale_partials("warc/")]
    assert stale == ["warc/s/dead.warc.gz"]
    live.close()


def test_write_file_streams_a_local_file_into_the_archive(tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 << 20))
    storage = LocalStorage(str(tmp_path / "archive"))
    storage.write_file("archive.wacz", source)
    assert storage.read("archive.wacz") == source.read_bytes()


def test_atomic_write_takes_its_content_from_a_local_file_too(tmp_path):
    source = tmp_path / "items.jsonl"
    source.write_bytes(os.urandom(3 << 20))
    storage = LocalStorage(str(tmp_path / "archive"))
    storage.write_atomic("items/news/x.jsonl", b"old\n")
    storage.write_atomic("items/news/x.jsonl", source)
    assert storage.read("items/news/x.jsonl") == source.read_bytes()
    assert os.listdir(tmp_path / "archive/items/news") == ["x.jsonl"]


def test_credentials_in_the_archive_uri_are_refused_without_being_repeated():
    with pytest.raises(ArchiveUnavailable) as refused:
        open_archive(settings(ARCHIVE_URI="s3://AKIAEXAMPLE:s3cr3t@bucket/news"))
    assert "s3cr3t" not in str(refused.value) and "AKIAEXAMPLE" not in str(refused.value)
    assert "s3://bucket/news: credentials do not belong in the archive URI" in str(refused.value)
