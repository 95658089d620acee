"""The typed link graph of a page: which URLs it links, and as what.

Relations: ``related`` (the editors' related blocks), ``same_category``, ``same_tag``
(site rules name their blocks), ``cited_source`` (source credits), ``canonical``,
``amphtml`` and ``translation`` (``<link rel="alternate" hreflang>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.utils.response import get_base_url

from crawler.citations import citations_in_page
from crawler.urls import absolute_url

if TYPE_CHECKING:
    from scrapy.http import TextResponse

    from crawler.sites import SiteRules

RELATED_RELATIONS = ("related", "same_category", "same_tag")


@dataclass(frozen=True)
class Link:
    url: str
    rel: str

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "rel": self.rel}


def page_links(response: TextResponse, rules: SiteRules, is_article: callable) -> list[Link]:
    """Every typed link of a page, in a stable order, without duplicates."""
    links: list[Link] = []
    base = get_base_url(response)
    for rel, selectors in rules.links.items():
        for selector in selectors:
            block = response.css(selector)
            for href in block.css("a::attr(href)").getall() + block.xpath("self::a/@href").getall():
                url = absolute_url(base, href)
                if url and url != response.url and is_article(url):
                    links.append(Link(url, rel))
    links.extend(Link(url, "cited_source") for url in citations_in_page(response.selector.root, response.url, is_article))
    for rel, xpath in (("canonical", '//link[@rel="canonical"]/@href'), ("amphtml", '//link[@rel="amphtml"]/@href')):
        links.extend(Link(url, rel) for href in response.xpath(xpath).getall()[:1] if (url := absolute_url(base, href)))
    for alternate in response.xpath('//link[@rel="alternate"][@hreflang]'):
        href, lang = alternate.attrib.get("href", ""), alternate.attrib.get("hreflang", "")
        url = absolute_url(base, href)
        if url and lang != "x-default" and url != response.url:
            links.append(Link(url, "translation"))
    return list(dict.fromkeys(links))
