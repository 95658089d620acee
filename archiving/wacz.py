"""WACZ packages of an archive, or of one crawl of it (wacz create, then wacz validate)."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archiving.cdxj import index_entries, indexed_warcs
from archiving.layout import ITEMS_DIR, basename, crawl_id_of_feed, is_items_feed, jsonl, read_jsonl
from archiving.payloads import warcinfo
from archiving.storage import ArchiveError, ArchiveStorage

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}


class WaczError(ArchiveError):
    """The archive cannot be packaged as asked."""


def crawl_of(storage: ArchiveStorage, warc: str) -> str | None:
    """The crawl id (warcinfo isPartOf) of a WARC written by this project."""
    return (warcinfo(storage, warc) or {}).get("isPartOf")


def payloads(storage: ArchiveStorage, warc: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """((digest, URL) of the WARC's responses, (digest, original URL) its revisits refer to)."""
    responses, revisits = set(), set()
    with storage.open_read(warc) as stream:
        for record in ArchiveIterator(stream):
            headers = record.rec_headers
            if record.rec_type == "response":
                responses.add((headers.get_header("WARC-Payload-Digest"), headers.get_header("WARC-Target-URI")))
            elif record.rec_type == "revisit":
                revisits.add((headers.get_header("WARC-Payload-Digest"), headers.get_header("WARC-Refers-To-Target-URI")))
    return responses, revisits


def write_originals(storage: ArchiveStorage, chosen: list[str], output: Path) -> int:
    """Copy the earlier crawls' responses that ``chosen`` revisits into ``output``; returns how many.

    Each record is one gzip member, read by its CDXJ offset and length, so copying the
    members makes a valid WARC without dragging whole earlier files into the package.
    """
    held, wanted = set(), set()
    for warc in chosen:
        responses, revisits = payloads(storage, warc)
        held |= responses
        wanted |= revisits
    wanted -= held
    names = {basename(w) for w in chosen}
    copied = 0
    with output.open("wb") as out:
        for name, (warc, index) in sorted(indexed_warcs(storage).items()):
            if index is None or name in names or not wanted:
                continue
            for entry in index_entries(storage, index):
                key = (entry.get("digest"), entry.get("url"))
                if key not in wanted or entry.get("mime") == "warc/revisit":
                    continue
                out.write(storage.read_range(warc, int(entry["offset"]), int(entry["length"])))
                wanted.discard(key)
                copied += 1
    if wanted:
        raise WaczError(f"{len(wanted)} revisited capture(s) have no original left in {storage.describe()}: "
                        + ", ".join(url for _, url in sorted(wanted)[:5]))
    return copied


def pages(storage: ArchiveStorage, feeds: list[str]) -> list[dict[str, Any]]:
    """pages.jsonl entries (url, title, ts, text) from article records."""
    entries = []
    for feed in feeds:
        for record in read_jsonl(storage.read(feed) or b""):
            entries.append({"url": record["url"], "title": record["title"], "ts": record["fetched_at"], "text": record["text"]})
    return entries


def build_wacz(storage: ArchiveStorage, output: Path, crawl: str | None = None) -> tuple[int, int]:
    """Write ``output`` from the archive's WARCs and article records; returns (WARCs, pages)."""
    from wacz.main import main as wacz_main

    warcs = [warc for warc, _ in sorted(indexed_warcs(storage).values())]
    feeds = [e.path for e in storage.list(ITEMS_DIR + "/") if is_items_feed(e.path)]
    if crawl:
        warcs = [w for w in warcs if crawl_of(storage, w) == crawl]
        feeds = [f for f in feeds if crawl_id_of_feed(f) == crawl]
    if not warcs:
        raise WaczError(f"no closed WARC in {storage.describe('warc')}" + (f" for crawl {crawl}" if crawl else ""))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as copies:
        files = [copies.enter_context(storage.local_copy(w)) for w in warcs]
        if crawl:
            # Revisits of payloads that earlier crawls archived replay only beside their originals.
            originals = Path(tmp) / f"{crawl}-originals.warc.gz"
            if write_originals(storage, warcs, originals):
                files.append(originals)
        pages_file = Path(tmp) / "pages.jsonl"
        entries = pages(storage, feeds)
        pages_file.write_bytes(jsonl([PAGES_HEADER, *entries]))
        code = wacz_main(["create", "-o", str(output), "-p", str(pages_file), "-c", *map(str, files)])
    if code:
        raise WaczError(f"wacz create failed with exit code {code}")
    return len(files), len(entries)


def validate(output: Path) -> bool:
    from wacz.main import main as wacz_main

    return wacz_main(["validate", "-f", str(output)]) == 0
