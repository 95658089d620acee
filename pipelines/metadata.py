"""A page's metadata as trafilatura reads it, without the parts the article record does not use.

``trafilatura.extract_metadata`` also searches the page for a date (htmldate) and a licence
on every page: a fifth of its time. The record's published date comes from the page's own
markup first (``pipelines.published``), so htmldate runs only on the pages
whose markup states none, and no record has a licence field.
"""

from __future__ import annotations

import logging

import lxml.html
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_catstags,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document

logger = logging.getLogger(__name__)


def page_metadata(tree: lxml.html.HtmlElement, url: str) -> Document:
    """Title, author, description, URL, site name, categories and tags, in trafilatura's order of trust.

    The same steps as ``trafilatura.extract_metadata`` for these fields; the tree is only read.
    """
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:  # a handle, not a name (as trafilatura does)
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as exc:  # noqa: BLE001 -- trafilatura catches its JSON-LD reader's bugs the same way
        logger.debug("JSON-LD metadata of %s unreadable: %s", url, exc)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or extract_author(tree)
    metadata.sitename = metadata.sitename or extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
        if metadata.sitename and "." not in metadata.sitename and not metadata.sitename[0].isupper():
            metadata.sitename = metadata.sitename.title()
    metadata.url = metadata.url or extract_url(tree, url)  # the page's own URL: canonical, og:url
    if not metadata.sitename and metadata.url and (match := META_URL.match(metadata.url)):
        metadata.sitename = match[1]
    metadata.categories = metadata.categories or extract_catstags("category", tree)
    metadata.tags = metadata.tags or extract_catstags("tag", tree)
    metadata.clean_and_trim()
    return metadata
