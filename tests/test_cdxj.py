"""CDXJ indexes of our WARCs (archiving.cdxj)."""

import importlib

from archiving.cdxj import cdxj_of_file
from archiving.storage import LocalStorage
from tests.test_recovery import WARC, closed_warc


def test_index_does_not_change_once_wacz_is_imported(tmp_path):
    # wacz appends "warcinfo" to cdxj-indexer's default record types when it is imported.
    storage = LocalStorage(tmp_path)
    closed_warc(storage)
    warc = tmp_path / WARC
    before = cdxj_of_file(warc, warc.name)
    importlib.import_module("wacz.waczindexer")
    assert cdxj_of_file(warc, warc.name) == before
    assert not before.startswith(b"- ")  # no line for the warcinfo record
