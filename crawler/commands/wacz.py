"""``scrapy wacz``: package the archive, or one crawl of it, as a WACZ, then validate it."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from scrapy.commands import ScrapyCommand

from archiving.storage import ArchiveError, open_archive
from archiving.wacz import build_wacz, validate
from crawler.outcome import EXIT_ARCHIVE


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "[-o FILE.wacz] [--crawl CRAWL_ID]"

    def short_desc(self) -> str:
        return "Package the archive (ARCHIVE_URI) or one crawl as a WACZ, and validate it"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", help="the WACZ to write (default: <crawl or 'archive'>.wacz in the archive)")
        parser.add_argument("--crawl", help="only this crawl id (the name of its items/<spider>/<crawl-id>.jsonl)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            storage = open_archive(self.settings)
            with tempfile.TemporaryDirectory() as tmp:
                output = Path(opts.output) if opts.output else Path(tmp) / f"{opts.crawl or 'archive'}.wacz"
                warcs, entries = build_wacz(storage, output, opts.crawl)
                ok = validate(output)
                where = str(output)
                if not opts.output:  # into the archive, whatever its backend
                    storage.write_file(output.name, output)
                    where = storage.describe(output.name)
        except ArchiveError as exc:
            logging.getLogger(__name__).error("%s", exc)
            self.exitcode = EXIT_ARCHIVE
            return
        print(f"{where}: {warcs} WARC file(s), {entries} page(s); wacz validate: {'passed' if ok else 'FAILED'}")
        if not ok:
            self.exitcode = 1
            sys.stdout.flush()
