"""The archive layout: every path, file-name rule and serialised form, in one place.

Paths are relative to the archive root (``ARCHIVE_URI``) and use ``/`` whatever the
backend; README.md (Archive layout) describes each family.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

PARTIAL_SUFFIX = ".open"  # a file still being written (WARC, items feed); renamed when complete

WARC_DIR = "warc"
INDEX_DIR = "indexes"
TEXT_DIR = "text"
ITEMS_DIR = "items"
STORY_INDEX = "stories/index.jsonl"
STORY_FEATURES = "stories/features.jsonl"  # what linking stories needs of each article record (pipelines.storyindex)

# <spider>-<UTC time to the microsecond>-<serial>-<host>-<pid>.warc.gz: unique across processes and machines
WARC_NAME = re.compile(r"^(?P<spider>.+)-(?P<time>\d{20})-(?P<serial>\d{5})-(?P<host>.+)-(?P<pid>\d+)\.warc\.gz$")


# -- WARCs and their indexes -----------------------------------------------------------------


def warc_name(spider: str, utc_time: str, serial: int, host: str, pid: int) -> str:
    return f"{spider}-{utc_time}-{serial:05d}-{host}-{pid}.warc.gz"


def warc_path(spider: str, name: str) -> str:
    return f"{WARC_DIR}/{spider}/{name}"


def is_warc(path: str) -> bool:
    """A closed WARC: ``warc/<spider>/<name>.warc.gz``."""
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == WARC_DIR and parts[2].endswith(".warc.gz")


def cdxj_path(warc: str) -> str:
    """``indexes/<name>.cdxj`` of a WARC, given its path or name."""
    return f"{INDEX_DIR}/{basename(warc).removesuffix('.warc.gz')}.cdxj"


def is_cdxj(path: str) -> bool:
    return path.startswith(INDEX_DIR + "/") and path.endswith(".cdxj") and path.count("/") == 1


def warc_of_cdxj(path: str) -> str:
    """The WARC file name an index belongs to."""
    return basename(path).removesuffix(".cdxj") + ".warc.gz"


# -- article texts -----------------------------------------------------------------------------


def article_id(canonical_url: str) -> str:
    """Stable, file-name-safe id: the URL's last path segment plus a hash of the whole URL."""
    try:
        path = urlsplit(canonical_url).path
    except ValueError:  # a host Python refuses ("https://[::1/x"): the hash alone names it
        path = ""
    last = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    # Ids sit at the end of news slugs (-post1079147.vnp): a long slug keeps its tail.
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", last)[-120:].strip("-") or "index"
    return f"{slug}-{hashlib.sha1(canonical_url.encode()).hexdigest()[:10]}"


def safe_site(site: str) -> str:
    """A host name as one path segment: never empty, never ``.``/``..``, no separators, never
    starting with ``-`` (which a tool given ``text/*`` would read as an option)."""
    cleaned = re.sub(r"^[.-]+|\.+$", "", re.sub(r"[^A-Za-z0-9._-]+", "_", site.lower())) or "_"
    return cleaned[:200]


def text_base(site: str, canonical_url: str) -> str:
    """``text/<site>/<article-id>``: add ``.txt`` or ``.json``."""
    return f"{TEXT_DIR}/{safe_site(site)}/{article_id(canonical_url)}"


def is_article_json(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == TEXT_DIR and parts[2].endswith(".json")


# -- crawls -----------------------------------------------------------------------------------


def items_path(spider: str, crawl_id: str) -> str:
    return f"{ITEMS_DIR}/{spider}/{crawl_id}.jsonl"


def summary_path(spider: str, crawl_id: str) -> str:
    return f"{ITEMS_DIR}/{spider}/{crawl_id}.summary.json"


def crawl_stories_path(spider: str, crawl_id: str) -> str:
    return f"{ITEMS_DIR}/{spider}/{crawl_id}.stories.jsonl"


def is_items_feed(path: str, spider: str | None = None) -> bool:
    """``items/<spider>/<crawl-id>.jsonl``, not its ``.stories.jsonl``."""
    parts = path.split("/")
    return (
        len(parts) == 3 and parts[0] == ITEMS_DIR and (spider is None or parts[1] == spider)
        and parts[2].endswith(".jsonl") and not parts[2].endswith(".stories.jsonl")
    )


def crawl_id_of_feed(path: str) -> str:
    return basename(path).removesuffix(".jsonl")


def is_archive_path(path: str) -> bool:
    """A path this layout writes (a WACZ at the root included): what recovery may act on."""
    top = path.split("/", 1)[0]
    return top in (WARC_DIR, INDEX_DIR, TEXT_DIR, ITEMS_DIR, STORY_INDEX.split("/")[0], "locks") or (
        "/" not in path and path.endswith(".wacz"))


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


# -- serialised forms --------------------------------------------------------------------------


def article_json(record: dict[str, Any]) -> bytes:
    """``text/<site>/<id>.json``: the article record, indented, UTF-8."""
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def article_text(record: dict[str, Any]) -> bytes:
    """``text/<site>/<id>.txt``: the title, a blank line, then the text."""
    return f"{record['title'] or ''}\n\n{record['text']}\n".encode()


def jsonl_line(row: dict[str, Any]) -> str:
    """One line of a JSONL file (items feeds, story files)."""
    return json.dumps(row, ensure_ascii=False) + "\n"


def jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(jsonl_line(row) for row in rows).encode("utf-8")


def read_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def parse_cdxj_line(line: str) -> dict[str, Any] | None:
    """The JSON block of a CDXJ line (``urlkey timestamp {json}``), or None for a line that is not one."""
    try:
        _, _, block = line.split(" ", 2)
        entry = json.loads(block)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


# Left out of an article's WARC metadata record: fields that describe the capture itself, and
# the story, which is decided when the crawl ends (stories/index.jsonl) and changes as crawls add articles.
NOT_IN_METADATA = ("warc_filename", "warc_record_id", "story_id")


def warc_fields(record: dict[str, Any]) -> bytes:
    """An article record as ``application/warc-fields``: one line per field, each value JSON."""
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in record.items() if key not in NOT_IN_METADATA]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


REPLAYED_MARK = "Replayed from the recording"  # how a WARC's warcinfo description starts under REPLAY


def warcinfo_fields(
    *, software: str, hostname: str, operator: str | None, user_agent: str | None, robots_obey: bool,
    crawl_id: str, replayed_from: str | None = None,
) -> dict[str, str]:
    """The fields of a WARC's ``warcinfo`` record (WARC 1.1, annex on warcinfo fields)."""
    info = {
        "software": software,
        "hostname": hostname,
        "operator": operator or "unknown",
        "http-header-user-agent": user_agent or "",
        "robots": "obey" if robots_obey else "ignore",
        "isPartOf": crawl_id,
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
    }
    if replayed_from:
        info["description"] = f"{REPLAYED_MARK} {replayed_from}, not fetched live"
    return info


def parse_warc_fields(payload: bytes) -> dict[str, str]:
    """``name: value`` lines of a warcinfo record."""
    fields = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip(), value.strip())
    return fields
