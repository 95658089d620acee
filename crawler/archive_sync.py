"""``scrapy archive-sync``: finish what crashed or failed crawls left, without crawling.

Repairs and completes partial WARCs and items feeds, uploads every file a remote archive
still holds in its spool (WARCs before their indexes), aborts stale multipart uploads,
and indexes closed WARCs that lack their CDXJ. Exits 0 when nothing is left to do,
3 (as ``scrapy crawl`` does for archive failures) when something is still pending.
"""

from __future__ import annotations

import argparse
import logging

from scrapy.commands import ScrapyCommand

from archiving.recovery import recover
from archiving.storage import ArchiveError, open_archive
from crawler.outcome import EXIT_ARCHIVE


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "[-s ARCHIVE_URI=URI]"

    def short_desc(self) -> str:
        return "Repair, upload and index what earlier crawls left in the archive (ARCHIVE_URI) and its spool"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            storage = open_archive(self.settings)
            storage.check_writable()
            done = recover(storage)
            pending = storage.pending()
        except ArchiveError as exc:
            logging.getLogger(__name__).error("%s", exc)
            self.exitcode = EXIT_ARCHIVE
            return
        figures = {"WARCs repaired": done.warcs_repaired, "feeds completed": done.feeds_repaired,
                   "files uploaded": done.sync.uploaded, "bytes uploaded": done.sync.bytes,
                   "uploads aborted": done.sync.aborted_uploads, "indexes written": done.indexes_written,
                   "temporaries removed": done.temporaries_removed,
                   "failures": done.failures + done.sync.failed, "still pending": len(pending)}
        print(f"{storage.describe()}: " + ", ".join(f"{name} {value}" for name, value in figures.items()))
        if pending or done.failures or done.sync.failed:
            self.exitcode = EXIT_ARCHIVE


