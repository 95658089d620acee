import os

import pytest
from scrapy.exceptions import NotConfigured

from pipelines.storage import LocalStorage, storage_from_uri


def test_local_folder_is_the_default_storage(tmp_path):
    assert isinstance(storage_from_uri(str(tmp_path)), LocalStorage)
    assert storage_from_uri(f"file://{tmp_path}").root == tmp_path


def test_unknown_scheme_is_refused_with_the_setting_named():
    with pytest.raises(NotConfigured, match="ARCHIVE_URI=ftp://x/y"):
        storage_from_uri("ftp://x/y")


def test_atomic_write_creates_folders_and_leaves_no_temp_file(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_atomic("text/a.vn/x.json", b"{}")
    assert (tmp_path / "text/a.vn/x.json").read_bytes() == b"{}"
    assert os.listdir(tmp_path / "text/a.vn") == ["x.json"]


def test_crash_mid_write_keeps_the_old_file_whole(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path)
    storage.write_atomic("x.txt", b"old text")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        storage.write_atomic("x.txt", b"new text that never lands")
    assert (tmp_path / "x.txt").read_bytes() == b"old text"
    assert os.listdir(tmp_path) == ["x.txt"]


def test_partial_file_appears_under_its_name_only_when_complete(tmp_path):
    storage = LocalStorage(tmp_path)
    with storage.open_partial("warc/s/a.warc.gz") as f:
        f.write(b"data")
    assert (tmp_path / "warc/s/a.warc.gz.open").exists()
    assert not (tmp_path / "warc/s/a.warc.gz").exists()
    storage.complete("warc/s/a.warc.gz")
    assert (tmp_path / "warc/s/a.warc.gz").read_bytes() == b"data"
