"""The article record of INTERFACE.md, built from an extracted page."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.items import ArticlePage
from crawler.sites import host_of, rules_for_url

if TYPE_CHECKING:
    from pipelines.extraction import Extraction
    from pipelines.stories import TextFeatures


def content_digest(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class ArticleRecord:
    """The article record of INTERFACE.md, its fields in that order.

    A Scrapy item (itemadapter reads dataclasses): the items feed and the stored JSON are its
    fields, nothing else. The text store sets ``version`` and ``previous_digest``; the story index
    writes ``story_id`` into the stored JSON and the items feed when the crawl ends.
    """

    url: str
    canonical_url: str
    site: str
    spider: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    section: str | None
    tags: list[str]
    lead: str | None
    text: str
    cites: list[str]
    related: list[str]
    links: list[dict[str, str]]
    story_id: str | None
    content_digest: str
    warc_filename: str | None
    warc_record_id: str | None
    fetched_at: str
    version: int = 1
    previous_digest: str | None = None

    def __post_init__(self) -> None:
        # Carried with the record between pipelines, never exported: not fields.
        self.text_features: TextFeatures | None = None  # computed with the text, for the story index
        self.since_applies = True  # the page's (crawler.items.ArticlePage), for the crawl policy

    def as_dict(self) -> dict[str, Any]:
        """The record as INTERFACE.md states it: its fields, in order."""
        return dataclasses.asdict(self)


def build_record(page: ArticlePage, extracted: Extraction) -> ArticleRecord:
    """The article record of an archived page and what extraction found in it."""
    canonical = page.canonical_url if page.canonical_url and _same_site(page.canonical_url, page.url) else page.url
    record = ArticleRecord(
        url=page.url,
        canonical_url=canonical.split("#", 1)[0],
        site=page.site,
        spider=page.spider,
        title=extracted.title,
        author=extracted.author,
        published=extracted.published,
        language=extracted.language,
        section=extracted.section,
        tags=extracted.tags,
        lead=extracted.lead,
        text=extracted.text,
        cites=page.cites,
        related=page.related,
        links=page.links,
        story_id=None,
        content_digest=content_digest(extracted.text),
        warc_filename=page.warc_filename,
        warc_record_id=page.warc_record_id,
        fetched_at=page.fetched_at,
    )
    record.text_features = extracted.text_features
    record.since_applies = page.since_applies
    return record


def _same_site(a: str, b: str) -> bool:
    """A canonical link is trusted only when it stays on the page's site."""
    rules = rules_for_url(a)
    return host_of(a) == host_of(b) or (rules.name != "generic" and rules.owns(b))
