"""The article's text: which extraction of the page's body to trust, and its standfirst.

The site's body container when its rules name one; else trafilatura in precision mode, its
balanced mode for short results that may have lost the article, and the publisher's own
JSON-LD ``articleBody`` when it holds clearly more of the same article.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from html import unescape

import lxml.etree
import lxml.html

from pipelines.cleaning import normalize_space, squash, word_count
from pipelines.evaluation import shingles
from pipelines.jsonld import JsonLd


def paragraphs_of(text: str | None) -> list[str]:
    return [p for p in (normalize_space(line) for line in (text or "").splitlines()) if p]


def trafilatura_text(tree: lxml.html.HtmlElement, url: str, mode: str) -> str | None:
    """trafilatura's main text in one of its modes: "precision", "balanced" or "recall"."""
    import trafilatura

    # trafilatura copies a tree it is handed before it prunes it: no copy here.
    return trafilatura.extract(
        tree, url=url, favor_precision=mode == "precision", favor_recall=mode == "recall",
        # The precision run is the common case: skip trafilatura's fallback extractors there,
        # the balanced run below catches the pages where that loses text.
        fast=mode == "precision",
        include_comments=False, include_tables=True, include_images=False, deduplicate=False,
    )


NEVER_TEXT = lxml.etree.XPath("//script[not(@type='application/ld+json')] | //style | //svg | //noscript")


def visible_texts(tree: lxml.html.HtmlElement) -> Iterator[str]:
    """The body's text nodes: extract_article drops scripts and styles before it asks (JSON-LD is not in <body>)."""
    body = tree.find("body")
    return body.itertext() if body is not None else iter(())


def visible_text(tree: lxml.html.HtmlElement) -> str:
    return "".join(visible_texts(tree))


# A precision-mode text this short, and this small a share of the page's words, may have lost
# the article (a split body, a live blog): try trafilatura's balanced mode, and keep it when it
# finds clearly more. A short text that is most of the page is a short article: no second run.
SHORT_TEXT_WORDS = 250
SHORT_TEXT_PAGE_SHARE = 0.25
MORE_TEXT_RATIO = 1.5


def generic_body(tree: lxml.html.HtmlElement, url: str, page_text: Callable[[], str]) -> str | None:
    precise = trafilatura_text(tree, url, "precision")
    precise_words = word_count(precise)
    if precise_words >= SHORT_TEXT_WORDS or precise_words > SHORT_TEXT_PAGE_SHARE * word_count(page_text()):
        return precise
    balanced = trafilatura_text(tree, url, "balanced")
    return balanced if word_count(balanced) > MORE_TEXT_RATIO * precise_words else precise


# The article body as the publisher states it in JSON-LD: used when it holds clearly more
# than the extracted text and contains most of it (the same article, not a teaser).
JSON_LD_MIN_WORDS = 50
JSON_LD_CONTAINS = 0.8
_BLOCK_END = re.compile(r"<\s*(?:br\s*/?|/(?:p|li|h[1-6]|div|blockquote))\s*>", re.IGNORECASE)


def json_ld_body(json_ld: JsonLd, text: str) -> str | None:
    body = json_ld.article_value("articleBody")
    if not body or not text:  # never a body for a page where trafilatura found no article
        return None
    body = unescape(body)
    if "<" in body:  # some CMSs put the HTML there: one paragraph per block, inline tags joined
        body = lxml.html.fromstring(f"<div>{_BLOCK_END.sub(chr(10), body)}</div>").text_content()
    words = word_count(body)
    if words < JSON_LD_MIN_WORDS or words <= MORE_TEXT_RATIO * word_count(text):
        return None
    ours = shingles(text)
    if not ours or len(ours & shingles(body)) / len(ours) < JSON_LD_CONTAINS:
        return None
    return body


def lead_of(paragraphs: list[str], description: str | None, page_texts: Callable[[], Iterable[str]]) -> str | None:
    """The page's standfirst: its meta description when the page prints it above the body.

    trafilatura often leaves the standfirst out of the body; the description is that
    standfirst when the page prints it before the body's first paragraph. A description
    the body already holds (the first sentence, say) is not repeated. Compared on letters
    and digits only, so inline markup and punctuation spacing do not matter.
    """
    description = normalize_space(description)
    if not description or word_count(description) < 8:
        return None
    wanted = squash(description)
    if not paragraphs or wanted in squash(" ".join(paragraphs)):
        return None
    return description if _printed_first(page_texts(), wanted, squash(paragraphs[0])[:80]) else None


def _printed_first(texts: Iterable[str], wanted: str, other: str) -> bool:
    """Whether the page's text (``texts``, squashed) holds ``wanted``, no later than ``other``.

    Reads the page only as far as it must: the standfirst and the body's start are near the
    top, and squashing a whole page's text costs more than the rest of the lead's work.
    """
    seen, wanted_at, other_at = "", -1, -1
    longest = max(len(wanted), len(other))
    for text in texts:
        start = max(0, len(seen) - longest)  # an occurrence ending in the new text starts here or later
        seen += squash(text)
        if wanted_at < 0:
            wanted_at = seen.find(wanted, start)
        if other_at < 0:
            other_at = seen.find(other, start)
        found = [at for at in (wanted_at, other_at) if at >= 0]
        if found and len(seen) >= min(found) + longest:
            break  # any earlier occurrence of either would be complete by now
    return wanted_at >= 0 and (other_at < 0 or wanted_at <= other_at)
