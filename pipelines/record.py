"""The article record of INTERFACE.md, built from an extracted page."""

from __future__ import annotations

import hashlib
from typing import Any

from crawler.items import ArticlePage
from crawler.sites import host_of, rules_for_url
from pipelines.stories import TextFeatures


def content_digest(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


class ArticleRecord(dict):
    """An article record (a dict of INTERFACE.md's fields) and, out of its fields, the story features
    of its text (``pipelines.stories.TextFeatures``) computed with it: the story index needs them,
    the feed and the stored JSON never see them."""

    text_features: TextFeatures | None = None
    since_applies: bool = True  # the page's: False for explicit asks and cited sources (crawler.items)


def build_record(page: ArticlePage, extracted: dict[str, Any]) -> ArticleRecord:
    """The article record of INTERFACE.md, in its field order."""
    canonical = page.canonical_url if page.canonical_url and _same_site(page.canonical_url, page.url) else page.url
    canonical = canonical.split("#", 1)[0]
    record = ArticleRecord({
        "url": page.url,
        "canonical_url": canonical,
        "site": page.site,
        "spider": page.spider,
        "title": extracted["title"],
        "author": extracted["author"],
        "published": extracted["published"],
        "language": extracted["language"],
        "section": extracted["section"],
        "tags": extracted["tags"],
        "lead": extracted["lead"],
        "text": extracted["text"],
        "cites": page.cites,
        "related": page.related,
        "links": page.links,
        "story_id": None,
        "content_digest": content_digest(extracted["text"]),
        "warc_filename": page.warc_filename,
        "warc_record_id": page.warc_record_id,
        "fetched_at": page.fetched_at,
        "version": 1,
        "previous_digest": None,
    })
    record.text_features = extracted.get("text_features")
    record.since_applies = page.since_applies
    return record


def _same_site(a: str, b: str) -> bool:
    """A canonical link is trusted only when it stays on the page's site."""
    rules = rules_for_url(a)
    return host_of(a) == host_of(b) or (rules.name != "generic" and rules.owns(b))
