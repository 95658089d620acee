"""The headline of an article page, chosen by agreement between the places pages put it.

A page states its headline several times: the ``<h1>``, JSON-LD ``headline``,
``og:title``, ``twitter:title`` and ``<title>`` (usually with " | Site name" appended).
Any one of them can be wrong: a logo or a teaser in an ``<h1>``, a shortened social
title, an SEO title. The visible headline that another source confirms is the article's.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from urllib.parse import urlsplit

import lxml.html

# " | Site", " - Site", " – Site", " :: Site", " — Site" at the end (or start) of <title>.
_SITE_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|»)\s+|\s*[｜ㅣ]\s*")


def _clean(text: str | None) -> str:
    # JSON-LD and meta values often carry HTML entities escaped twice ("&#8217;", "&quot;").
    return " ".join(unicodedata.normalize("NFC", html.unescape(text or "")).split())


def _key(text: str) -> str:
    return text.casefold()


def _squash(text: str) -> str:
    """Letters and digits only: "Example News", "example-news" and "ExampleNews" compare equal."""
    return re.sub(r"[\W_]", "", text.casefold())


def _json_ld_headlines(tree: lxml.html.HtmlElement) -> list[str]:
    found = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            stack = [json.loads(script)]
        except ValueError:
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if isinstance(node.get("headline"), str):
                    found.append(node["headline"])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return found


def _site_words(sitename: str | None, url: str) -> set[str]:
    host = urlsplit(url).hostname or ""
    labels = [label for label in host.removeprefix("www.").split(".") if len(label) > 2]
    return {_squash(w) for w in [*(labels[:-1] or labels), sitename or ""] if _squash(w)}


def strip_site_name(title: str, sitename: str | None, url: str) -> str:
    """``<title>`` without the site's name on either end, when one of its parts names the site."""
    parts = _SITE_SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    names = _site_words(sitename, url)

    def names_site(part: str) -> bool:
        squashed = _squash(part)
        return any(name in squashed for name in names)

    if names_site(parts[-1]):
        return _clean(" - ".join(parts[:-1])) if len(parts) > 2 else parts[0]
    if names_site(parts[0]):
        return parts[1] if len(parts) == 2 else title
    return title


def title_candidates(tree: lxml.html.HtmlElement, sitename: str | None, url: str) -> dict[str, list[str]]:
    """Headlines the page states, by source, site names stripped; empty sources left out."""
    found: dict[str, list[str]] = {
        "h1": [_clean(h1.text_content()) for h1 in tree.iter("h1")],
        "json-ld": [_clean(h) for h in _json_ld_headlines(tree)[:1]],
        "og:title": [_clean(v) for v in tree.xpath('//meta[@property="og:title"]/@content')[:1]],
        "twitter:title": [_clean(v) for v in tree.xpath('//meta[@name="twitter:title"]/@content')[:1]],
        # head/title only: <title> inside inline SVG icons names the icon.
        "title": [_clean(t.text_content()) for t in tree.xpath("//head/title")[:1]],
    }
    for source in ("og:title", "twitter:title", "title"):
        found[source] = [strip_site_name(t, sitename, url) for t in found[source]]
    return {source: [t for t in texts if t] for source, texts in found.items() if any(texts)}


def choose_title(tree: lxml.html.HtmlElement, fallback: str | None, sitename: str | None, url: str) -> str | None:
    """The visible headline confirmed by another source, else the best single source.

    Order: an ``<h1>`` that another source repeats (pages hold several ``<h1>``: logos,
    teasers); the JSON-LD headline; ``og:title``; the first ``<h1>``; ``<title>``;
    trafilatura's title.
    """
    found = title_candidates(tree, sitename, url)
    others = {_key(t) for source, texts in found.items() if source != "h1" for t in texts}
    for h1 in found.get("h1", []):
        if _key(h1) in others:
            return h1
    for source in ("json-ld", "og:title", "h1", "title"):
        if found.get(source):
            return found[source][0]
    return _clean(fallback) or None
