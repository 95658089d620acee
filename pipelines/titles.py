"""The headline of an article page, chosen by agreement between the places pages put it.

A page states its headline several times: the ``<h1>``, JSON-LD ``headline``,
``og:title``, ``twitter:title`` and ``<title>`` (usually with " | Site name" appended).
Any one of them can be wrong: a logo or a teaser in an ``<h1>``, a shortened social
title, an SEO title. The visible headline that another source confirms is the article's.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import lxml.html

from pipelines.cleaning import normalize_space, squash, words
from pipelines.jsonld import JsonLd

# " | Site", " - Site", " – Site", " :: Site", " — Site", "｜Site" between headline and site name.
_SITE_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|»)\s+|\s*[｜ㅣ]\s*")
# At the end only: Scandinavian headlines open with a dash that marks a quote ("– Angsten vil øke").
# Not "»": French headlines end with the guillemet that closes their quote.
_DANGLING_SEPARATOR = re.compile(r"(?:\s+(?:[|·–—｜-]|::))+$")
# A part names the site when the site's name makes up a good share of it ("Die Neue
# Südtiroler Tageszeitung" for tageszeitung.it), not when a short name hides inside a word
# ("AP" in "Japan").
SITE_NAME_SHARE = 0.3
SITE_NAME_MIN_CHARS = 3
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu", "or", "ne"}


def _clean(text: str | None) -> str:
    # JSON-LD and meta values often carry HTML entities escaped twice ("&#8217;", "&quot;").
    return normalize_space(unescape(text or ""))


def _between_words(text: str) -> str:
    """From the first word to the last: what decorations at the ends (emoji, quotes, "!!!") leave out."""
    found = re.search(r"\w.*\w|\w", text)
    return found[0] if found else ""


def domain_label(url: str) -> str:
    """The registered name of the host: "cnn" for edition.cnn.com, "bbc" for www.bbc.co.uk."""
    labels = (urlsplit(url).hostname or "").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def strip_site_name(title: str, sitename: str | None, url: str) -> str:
    """``title`` without the site's name, when it ends the title (or, spelt as the domain, starts it)."""
    separators = list(_SITE_SEPARATOR.finditer(title))
    if not separators:
        return title
    domain = squash(domain_label(url))
    if _names(title[separators[-1].end():], {domain, squash(sitename or "")}):
        return title[: separators[-1].start()].strip()
    # At the start, only the domain's own name counts: a site called "Vietnam+" does not
    # make "Vietnam - Japan: ..." start with its name.
    if _names(title[: separators[0].start()], {domain}):
        return title[separators[0].end():].strip()
    return title


def _names(part: str, names: set[str]) -> bool:
    part = squash(part)
    return bool(part) and any(
        len(name) >= SITE_NAME_MIN_CHARS and name in part and len(name) >= SITE_NAME_SHARE * len(part)
        for name in names
    )


def title_candidates(
    tree: lxml.html.HtmlElement, json_ld: JsonLd, sitename: str | None, url: str,
) -> dict[str, list[str]]:
    """Headlines the page states, by source, site names stripped; empty sources left out."""
    found: dict[str, list[str]] = {
        "h1": [_clean(h1.text_content()) for h1 in tree.iter("h1")],
        "json-ld": [_clean(json_ld.article_value("headline"))],
        # A headline on another node (WebPage): weaker, a related story's can hide there.
        "json-ld-other": [_clean(json_ld.first_value("headline"))],
        "og:title": [_clean(v) for v in tree.xpath('//meta[@property="og:title"]/@content')[:1]],
        "twitter:title": [_clean(v) for v in tree.xpath('//meta[@name="twitter:title"]/@content')[:1]],
        # head/title only: <title> inside inline SVG icons names the icon.
        "title": [_clean(t.text_content()) for t in tree.xpath("//head/title")[:1]],
    }
    for source in ("og:title", "twitter:title", "title"):
        found[source] = [strip_site_name(t, sitename, url) for t in found[source]]
    # A separator left over from a hidden site name or kicker ("Headline |") is not the headline's.
    found = {source: [_DANGLING_SEPARATOR.sub("", t) for t in texts] for source, texts in found.items()}
    return {source: [t for t in texts if t] for source, texts in found.items() if any(texts)}


def choose_title(
    tree: lxml.html.HtmlElement, fallback: str | None, sitename: str | None, url: str, json_ld: JsonLd | None = None,
) -> str | None:
    """The visible headline confirmed by another source, else the best single source.

    Order: an ``<h1>`` that another source repeats (pages hold several ``<h1>``: logos,
    teasers); the JSON-LD article's headline; ``og:title``; any other JSON-LD headline;
    the first ``<h1>``; ``<title>``; trafilatura's title.
    """
    found = title_candidates(tree, json_ld or JsonLd.of(tree), sitename, url)
    # Compared on letters and digits: "d’actions" and "d'actions", an h1 set in capitals and its
    # title-case og:title agree. An h1 whose words run together (a kicker element glued to the
    # headline: "Einheit der WocheLagen-Pyramide") confirms nothing. The h1 is returned as the
    # page prints it, unless the other source has more between its first and last word: the
    # h1's elements lost the punctuation between kicker and headline ("Ausschuss zur
    # Ahrtal-Flut Zwei Rücktritte"). Decorations at the ends of a social title do not count.
    others: dict[str, str] = {}
    for source, texts in found.items():  # sources in order of trust: the first form of a headline stays
        for text in texts if source != "h1" else ():
            others.setdefault(squash(text), text)
    for h1 in found.get("h1", []):
        other = others.get(squash(h1)) if squash(h1) else None
        if other and words(h1) == words(other):
            return other if len(_between_words(other)) > len(_between_words(h1)) else h1
    for source in ("json-ld", "og:title", "json-ld-other", "h1", "title"):
        if found.get(source):
            return found[source][0]
    return _clean(fallback) or None
