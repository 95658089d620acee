"""``scrapy wacz``: package the archive, or one crawl of it, as a WACZ, then validate it."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from warcio.archiveiterator import ArchiveIterator

from pipelines.storage import item_feeds, storage_from_uri

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}


def crawl_of(warc: Path) -> str | None:
    """The crawl id (warcinfo isPartOf) of a WARC written by this project."""
    with warc.open("rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type != "warcinfo":
                return None
            for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
                name, _, value = line.partition(":")
                if name.strip() == "isPartOf":
                    return value.strip()
            return None
    return None


def revisited_digests(warc: Path) -> set[str]:
    with warc.open("rb") as f:
        return {
            record.rec_headers.get_header("WARC-Payload-Digest")
            for record in ArchiveIterator(f)
            if record.rec_type == "revisit"
        }


def originals_of(chosen: list[Path], archive: Path, warcs: list[Path]) -> set[Path]:
    """The WARCs (among ``warcs``) holding the original payloads that ``chosen`` revisits."""
    wanted = set().union(*(revisited_digests(w) for w in chosen)) if chosen else set()
    by_name = {w.name: w for w in warcs}
    found: set[Path] = set()
    for index in archive.glob("indexes/*.cdxj"):
        for line in index.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line.split(" ", 2)[2])
            if entry.get("digest") in wanted and entry.get("mime") != "warc/revisit" and entry["filename"] in by_name:
                found.add(by_name[entry["filename"]])
    return found


def pages(items: list[Path]) -> list[dict[str, Any]]:
    """pages.jsonl entries (url, title, ts, text) from article records."""
    entries = []
    for feed in items:
        for line in feed.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            entries.append({"url": record["url"], "title": record["title"], "ts": record["fetched_at"], "text": record["text"]})
    return entries


def build_wacz(archive: Path, output: Path, crawl: str | None = None) -> tuple[int, int]:
    """Write ``output`` from the archive's WARCs and article records; returns (WARCs, pages)."""
    from wacz.main import main as wacz_main

    warcs = sorted(archive.glob("warc/*/*.warc.gz"))
    items = item_feeds(archive)
    if crawl:
        chosen = [w for w in warcs if crawl_of(w) == crawl]
        # Revisits of payloads archived by earlier crawls replay only beside their originals.
        warcs = sorted({*chosen, *originals_of(chosen, archive, warcs)})
        items = [i for i in items if i.stem == crawl]
    if not warcs:
        raise UsageError(f"no closed WARC in {archive}/warc" + (f" for crawl {crawl}" if crawl else ""), print_help=False)
    with tempfile.TemporaryDirectory() as tmp:
        pages_file = Path(tmp) / "pages.jsonl"
        entries = pages(items)
        pages_file.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in [PAGES_HEADER, *entries]) + "\n", encoding="utf-8")
        code = wacz_main(["create", "-o", str(output), "-p", str(pages_file), "-c", *map(str, warcs)])
    if code:
        raise RuntimeError(f"wacz create failed with exit code {code}")
    return len(warcs), len(entries)


def validate(output: Path) -> bool:
    from wacz.main import main as wacz_main

    return wacz_main(["validate", "-f", str(output)]) == 0


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[-o FILE.wacz] [--crawl CRAWL_ID]"

    def short_desc(self) -> str:
        return "Package the archive (ARCHIVE_URI) or one crawl as a WACZ, and validate it"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", help="the WACZ to write (default: <archive>/<crawl or 'archive'>.wacz)")
        parser.add_argument("--crawl", help="only this crawl id (the name of its items/<spider>/<crawl-id>.jsonl)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        storage = storage_from_uri(self.settings.get("ARCHIVE_URI") or "archive")
        archive = storage.local_path("")
        output = Path(opts.output) if opts.output else archive / f"{opts.crawl or 'archive'}.wacz"
        warcs, entries = build_wacz(archive, output, opts.crawl)
        ok = validate(output)
        print(f"{output}: {warcs} WARC file(s), {entries} page(s); wacz validate: {'passed' if ok else 'FAILED'}")
        if not ok:
            self.exitcode = 1
            sys.stdout.flush()
