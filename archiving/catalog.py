"""What a reader of the archive browses: its articles, their versions, its stories (``scrapy browse``).

Read from the archive's own files, never from its WARCs: ``text/<site>/<id>.json`` (the latest
record of each article), the items feeds ``items/<spider>/<crawl-id>.jsonl`` (every version a
crawl emitted, text included: the only place older texts live) and ``stories/index.jsonl``.
Feeds are indexed by line offset, so the catalog holds no text but the one asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from archiving.layout import ITEMS_DIR, STORY_INDEX, TEXT_DIR, is_article_json, text_base
from archiving.storage import ArchiveStorage


@dataclass(frozen=True)
class Article:
    """An article as its latest record describes it."""

    path: str  # text/<site>/<id>: + .txt, + .json
    url: str
    canonical_url: str
    site: str
    title: str
    language: str
    published: str  # ISO 8601, or "" when unknown
    story_id: str | None
    version: int
    fetched_at: str
    warc_date: str  # 14 digits, for replay links


@dataclass(frozen=True)
class Version:
    """One version of an article, as the crawl that stored it emitted it."""

    version: int
    fetched_at: str
    crawl_id: str
    feed: str  # items/<spider>/<crawl-id>.jsonl
    offset: int  # of its line in the feed
    content_digest: str


@dataclass
class Catalog:
    articles: list[Article] = field(default_factory=list)  # newest published first
    stories: dict[str, dict[str, Any]] = field(default_factory=dict)  # story_id -> its index entry
    versions: dict[str, list[Version]] = field(default_factory=dict)  # article path -> versions, oldest first

    @classmethod
    def load(cls, storage: ArchiveStorage) -> Catalog:
        catalog = cls()
        for entry in storage.list(TEXT_DIR + "/"):
            if is_article_json(entry.path) and (data := storage.read(entry.path)) is not None:
                try:
                    catalog.articles.append(_article(json.loads(data), entry.path[: -len(".json")]))
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged record: not listed
        catalog.articles.sort(key=lambda a: (a.published, a.fetched_at), reverse=True)
        if (index := storage.read(STORY_INDEX)) is not None:
            for line in index.splitlines():
                if line.strip():
                    story = json.loads(line)
                    catalog.stories[story["story_id"]] = story
        catalog._index_versions(storage)
        return catalog

    def _index_versions(self, storage: ArchiveStorage) -> None:
        seen: dict[str, dict[int, Version]] = {}
        for entry in storage.list(ITEMS_DIR + "/"):
            name = entry.path.rsplit("/", 1)[1]
            if not name.endswith(".jsonl") or name.endswith(".stories.jsonl"):
                continue
            data = storage.read(entry.path) or b""
            offset = 0
            for line in data.splitlines(keepends=True):
                try:
                    record = json.loads(line)
                    path = text_base(record["site"], record["canonical_url"])
                    version = Version(int(record.get("version") or 1), record.get("fetched_at", ""),
                                      name[: -len(".jsonl")], entry.path, offset, record.get("content_digest", ""))
                    # A version listed twice (a job resumed after a crash): its first listing.
                    seen.setdefault(path, {}).setdefault(version.version, version)
                except (ValueError, KeyError, TypeError):
                    pass  # a torn or foreign line
                offset += len(line)
        self.versions = {path: [v for _, v in sorted(found.items())] for path, found in seen.items()}

    def article(self, path: str) -> Article | None:
        """The article whose files are ``path`` + ``.txt`` / ``.json`` (``text/<site>/<id>``)."""
        return next((a for a in self.articles if a.path == path), None)

    def select(self, site: str = "", language: str = "", since: str = "", until: str = "") -> list[Article]:
        """Articles of a site and language, published between two days (``YYYY-MM-DD``, both included)."""
        return [
            a for a in self.articles
            if (not site or a.site == site) and (not language or a.language == language)
            and (not since or a.published[:10] >= since) and (not until or (a.published and a.published[:10] <= until))
        ]

    def sites(self) -> list[str]:
        return sorted({a.site for a in self.articles})

    def languages(self) -> list[str]:
        return sorted({a.language for a in self.articles if a.language})


def version_text(storage: ArchiveStorage, version: Version) -> str:
    """The text of one version, read from its feed line."""
    data = storage.read(version.feed) or b""
    line = data[version.offset:].split(b"\n", 1)[0]
    record = json.loads(line)
    return f"{record.get('title') or ''}\n\n{record.get('text') or ''}"


def _article(record: dict[str, Any], path: str) -> Article:
    return Article(
        path=path, url=record["url"], canonical_url=record["canonical_url"], site=record["site"],
        title=record.get("title") or record["url"], language=record.get("language") or "",
        published=record.get("published") or "", story_id=record.get("story_id"),
        version=int(record.get("version") or 1), fetched_at=record.get("fetched_at") or "",
        warc_date="".join(ch for ch in (record.get("fetched_at") or "") if ch.isdigit())[:14],
    )
