"""When an article was published: the first time its page states, in the page's own UTC offset."""

from __future__ import annotations

from collections.abc import Iterator

import lxml.html

from crawler.dates import parse_datetime
from crawler.sites import SiteRules
from pipelines.jsonld import JsonLd
from pipelines.selection import select

_PUBLISHED_META = (
    '//meta[@property="article:published_time"]/@content',
    '//meta[@itemprop="datePublished"]/@content',
    '//*[@itemprop="datePublished"]/@datetime',
)


def _candidates(tree: lxml.html.HtmlElement, rules: SiteRules, json_ld: JsonLd) -> Iterator[str]:
    """Every statement of the publication time, most trusted first."""
    for element in select(tree, rules.selectors.published):
        yield element.get("datetime") or element.get("content") or element.text_content()
    for xpath in _PUBLISHED_META:
        yield from tree.xpath(xpath)
    if value := json_ld.article_value("datePublished") or json_ld.first_value("datePublished"):
        yield value
    yield from tree.xpath("//article//time/@datetime")


def published(tree: lxml.html.HtmlElement, rules: SiteRules, json_ld: JsonLd, url: str) -> str | None:
    """The first stated publication time (ISO 8601), in the page's own UTC offset when the page gives it.

    Pages often state one instant twice: ``article:published_time`` in UTC and JSON-LD in
    local time. The local form keeps the day the newsroom printed. A time printed without an
    offset is in the site's ``timezone``.
    """
    found = (d for d in (parse_datetime(v, rules.tzinfo, rules.date_formats) for v in _candidates(tree, rules, json_ld))
             if d)
    first = next(found, None)
    if first is None:
        return searched_date(tree, url)
    if first.utcoffset() or first.tzinfo is None:
        return first.isoformat()
    for other in found:
        if other.utcoffset() and abs((other - first).total_seconds()) < 60:
            return other.isoformat()
    return first.isoformat()


def searched_date(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """htmldate's quick search of the markup, then its extensive search of the text.

    Slower than reading a stated date, so only for pages whose markup states none.
    htmldate works on its own copy of the tree.
    """
    from trafilatura.metadata import find_date
    from trafilatura.settings import set_date_params

    for extensive in (False, True):
        if found := find_date(tree, **{**set_date_params(extensive), "url": url}):
            return found
    return None
