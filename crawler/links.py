"""The typed link graph of a page: which URLs it links, and as what.

Relations: ``related`` (the editors' related blocks), ``same_category``, ``same_tag``
(site rules name their blocks), ``cited_source`` (source credits), ``canonical``,
``amphtml`` and ``translation`` (``<link rel="alternate" hreflang>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.citations import citations_in_page
from crawler.urls import absolute_url

if TYPE_CHECKING:
    from parsel import Selector

    from crawler.sites import SiteRules

RELATED_RELATIONS = ("related", "same_category", "same_tag")


@dataclass(frozen=True)
class Link:
    url: str
    rel: str

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "rel": self.rel}


def page_links(page: Selector, url: str, base: str, rules: SiteRules, is_article: callable) -> list[Link]:
    """Every typed link of a page, in a stable order, without duplicates.

    ``page`` is the parsed page at ``url``; relative links resolve against ``base`` (its ``<base href>``, else ``url``).
    """
    links: list[Link] = []
    for rel, selectors in rules.links.items():
        for selector in selectors:
            block = page.css(selector)
            for href in block.css("a::attr(href)").getall() + block.xpath("self::a/@href").getall():
                link = absolute_url(base, href)
                if link and link != url and is_article(link):
                    links.append(Link(link, rel))
    links.extend(Link(link, "cited_source") for link in citations_in_page(page.root, url, is_article))
    for rel, xpath in (("canonical", '//link[@rel="canonical"]/@href'), ("amphtml", '//link[@rel="amphtml"]/@href')):
        links.extend(Link(link, rel) for href in page.xpath(xpath).getall()[:1] if (link := absolute_url(base, href)))
    for alternate in page.xpath('//link[@rel="alternate"][@hreflang]'):
        href, lang = alternate.attrib.get("href", ""), alternate.attrib.get("hreflang", "")
        link = absolute_url(base, href)
        if link and lang != "x-default" and link != url:
            links.append(Link(link, "translation"))
    return list(dict.fromkeys(links))
