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


def payloads(warc: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """((digest, URL) of the WARC's responses, (digest, original URL) its revisits refer to)."""
    responses, revisits = set(), set()
    with warc.open("rb") as f:
        for record in ArchiveIterator(f):
            headers = record.rec_headers
            if record.rec_type == "response":
                responses.add((headers.get_header("WARC-Payload-Digest"), headers.get_header("WARC-Target-URI")))
            elif record.rec_type == "revisit":
                revisits.add((headers.get_header("WARC-Payload-Digest"), headers.get_header("WARC-Refers-To-Target-URI")))
    return responses, revisits


def write_originals(chosen: list[Path], archive: Path, output: Path) -> int:
    """Copy the earlier crawls' responses that ``chosen`` revisits into ``output``; returns how many.

    Each record is one gzip member, found by its CDXJ offset and length, so copying the
    members makes a valid WARC without dragging whole earlier files into the package.
    """
    held, wanted = set(), set()
    for warc in chosen:
        responses, revisits = payloads(warc)
        held |= responses
        wanted |= revisits
    wanted -= held
    names = {w.name for w in chosen}
    present = {p.name: p for p in archive.glob("warc/*/*.warc.gz")}
    copied = 0
    with output.open("wb") as out:
        for index in sorted(archive.glob("indexes/*.cdxj")):
            for line in index.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                entry = json.loads(line.split(" ", 2)[2])
                key = (entry.get("digest"), entry.get("url"))
                if key not in wanted or entry.get("mime") == "warc/revisit" or entry.get("filename") in names:
                    continue
                source = present.get(entry.get("filename", ""))
                if source is None:
                    continue
                with source.open("rb") as f:
                    f.seek(int(entry["offset"]))
                    out.write(f.read(int(entry["length"])))
                wanted.discard(key)
                copied += 1
    if wanted:
        raise UsageError(f"{len(wanted)} revisited capture(s) have no original left in {archive}: "
                         + ", ".join(url for _, url in sorted(wanted)[:5]), print_help=False)
    return copied


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
        warcs = [w for w in warcs if crawl_of(w) == crawl]
        items = [i for i in items if i.stem == crawl]
    if not warcs:
        raise UsageError(f"no closed WARC in {archive}/warc" + (f" for crawl {crawl}" if crawl else ""), print_help=False)
    with tempfile.TemporaryDirectory() as tmp:
        if crawl:
            # Revisits of payloads that earlier crawls archived replay only beside their originals.
            originals = Path(tmp) / f"{crawl}-originals.warc.gz"
            if write_originals(warcs, archive, originals):
                warcs = [*warcs, originals]
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
