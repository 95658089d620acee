"""The news spider: start URLs, sitemaps, feeds, cited sources and related links.

One class serves every site; a site's spider is this class bound to that site's
rules file (see ``crawler.spiders``). Which rules parse a page depends on the
page's host, so a cited original on another site is handled by that site's rules.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

import lxml.etree
from scrapy import Request
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.selector import Selector
from scrapy.spiders import SitemapSpider
from scrapy.utils.response import get_base_url

from crawler.citations import same_site, seed_citations
from crawler.dates import parse_day
from crawler.incremental import LISTED_AT, parse_listed_date, settle
from crawler.items import ArticlePage
from crawler.links import RELATED_RELATIONS, Link, page_links
from crawler.params import NewsSpiderParams, check_http_url
from crawler.sites import SiteRules, all_rules, host_of, news_hosts, rules_for_url
from crawler.state import crawl_state, site_prefixes
from crawler.urls import absolute_url

logger = logging.getLogger(__name__)

# request.meta keys, documented in docs/reference.md
KIND = "news_kind"  # how the URL was found: one of DISCOVERY_KINDS
# seed: cited by a seed document; url: given with -a url/urls_file; sitemap, feed: those files;
# listed: an article a sitemap or feed lists; cited: credited as source by a crawled page;
# related: linked from a related-articles block; start: a site's start page.
DISCOVERY_KINDS = ("seed", "url", "sitemap", "feed", "listed", "cited", "related", "start")
# -a since filters what discovery finds; explicit asks and their sources are kept whatever their date.
SINCE_APPLIES_TO = ("listed", "related", "start")
DEPTH = "news_related_depth"  # related-link hops from the page the crawl started at
CITED = "news_cited_by"
LISTING_PAGE = "news_listing_page"  # page number of a listing (next links, load more)
LISTING_BASE = "news_listing_base"  # the listing page a load-more endpoint belongs to


def is_article_url(url: str) -> bool:
    return rules_for_url(url).is_article(url)


def make_crawl_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


class NewsSpider(SitemapSpider):
    """Crawl a site's news: cited sources in the seeds, sitemaps, feeds, related links."""

    name: ClassVar[str] = "news"
    site_rules: ClassVar[SiteRules]
    # A conditional request answered 304 reaches the callbacks: a list's due articles are rechecked.
    handle_httpstatus_list: ClassVar[list[int]] = [304]
    # Sitemap entries that look like articles (see _get_urls_and_callbacks_from_urlset).
    sitemap_rules: ClassVar[list[tuple[str, str]]] = [("", "parse_page")]

    @staticmethod
    def validate_arguments(arguments: dict[str, Any]) -> None:
        """The ``-a`` arguments as the spider will read them: SpiderArgumentError says what is wrong."""
        NewsSpiderParams.from_arguments(arguments)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.params = NewsSpiderParams.from_arguments(kwargs)
        super().__init__(*args)
        self.crawl_id = make_crawl_id()
        self._seed_slugs: set[str] = set()  # headline slugs of seeds that credit only a site name
        # news:publication_date of sitemap entries, read before Scrapy's parser (which drops nested tags).
        self._publication_dates: dict[str, str] = {}
        self._listed_dates: dict[str, str] = {}  # sitemap lastmod of entries, for incremental rechecks
        rules = self.site_rules
        self.sitemap_urls = list(rules.sitemaps)
        self.allowed_domains = sorted({h.removeprefix("www.") for h in rules.hosts})
        if self.params.site:
            self.allowed_domains = [host_of(self.params.site).removeprefix("www.")]
        elif self.params.url or self.params.urls_file:
            self.allowed_domains = sorted({host_of(u) for u in self.params.start_urls()}) + self.allowed_domains

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.crawler.stats.set_value("news/crawl_id", self.crawl_id)
        given = self.params.start_urls()
        if given:
            for url in given:
                yield Request(url, self.parse_start, meta={KIND: "url", DEPTH: 0})
            return
        for request in self._due_articles():
            yield request
        if self.params.site:
            root = self.params.site.rstrip("/")
            yield Request(f"{root}/robots.txt", self._parse_sitemap, meta={KIND: "sitemap"})
            yield Request(root + "/", self.parse_page, meta={KIND: "start", DEPTH: 0})
            return
        for url in self.cited_start_urls():
            yield Request(url, self.parse_page, meta={KIND: "seed", DEPTH: 0}, priority=10)
        for url in self.site_rules.start_urls + self.site_rules.listings:
            yield Request(url, self.parse_page, meta={KIND: "start", DEPTH: 0})
        for url in self.site_rules.sitemaps:
            yield Request(url, self._parse_sitemap, meta={KIND: "sitemap"})
        for url in self.site_rules.feeds:
            yield Request(url, self.parse_feed, meta={KIND: "feed"})

    @classmethod
    def first_url(cls, arguments: dict[str, Any]) -> str | None:
        """The first URL a crawl with these ``-a`` arguments asks for: the network check's target."""
        params = NewsSpiderParams.from_arguments(arguments)
        if params.site:
            return params.site
        if given := params.start_urls():
            return given[0]
        rules = cls.site_rules
        return next(iter([*rules.start_urls, *rules.sitemaps, *rules.feeds]), None)

    def pushed_request(self, url: str, kind: str = "url") -> Request:
        """A URL pushed to a distributed crawl's start key (crawler.distributed): ``url`` crawls it
        as ``-a url=`` does, ``sitemap`` and ``feed`` as this site's own. ValueError if it is not one."""
        url = check_http_url(url)
        # Its host may be none of this spider's sites: the URL itself is fetched; its links as always.
        meta: dict[str, Any] = {"allow_offsite": True}
        if kind == "url":
            return Request(url, self.parse_start, meta={**meta, KIND: "url", DEPTH: 0})
        if kind == "sitemap":
            return Request(url, self._parse_sitemap, meta={**meta, KIND: "sitemap"})
        if kind == "feed":
            return Request(url, self.parse_feed, meta={**meta, KIND: "feed"})
        raise ValueError(f"unknown kind {kind!r} (url, sitemap or feed)")

    def cited_start_urls(self) -> list[str]:
        """Source URLs that the seed documents cite on this spider's sites."""
        if not self.params.seeds.is_dir():
            logger.warning("Seed folder %s not found: starting from sitemaps and feeds only", self.params.seeds)
            return []
        urls = []
        for seed in seed_citations(self.params.seeds):
            citation = seed.citation
            if citation.url and self.site_rules.owns(citation.url):
                urls.append(citation.url)
            elif citation.site and any(same_site(h, citation.site) for h in self.site_rules.hosts):
                # A bare site name: its article is the one the site's sitemaps and feeds list
                # under the seed's headline slug (see ``_wanted_by_seed``).
                self._seed_slugs.update(seed.headline_slugs)
        urls = list(dict.fromkeys(urls))
        self.crawler.stats.set_value("news/seed_citations", len(urls))
        return urls

    def _listed(self, url: str, listed_date: str | None = None) -> Request:
        """An article a sitemap, feed or listing names; first, and a seed's, if a seed wants it.

        ``listed_date`` (sitemap lastmod, feed date) makes it due at once when it moved past
        the article's last fetch (crawler.incremental).
        """
        meta: dict[str, Any] = {KIND: "listed", DEPTH: 0}
        listed_date = listed_date or self._listed_dates.pop(url, None)
        if (listed_at := parse_listed_date(listed_date, rules_for_url(url).tzinfo)) is not None:
            meta[LISTED_AT] = listed_at
        if self._wanted_by_seed(url):
            return Request(url, self.parse_page, meta={**meta, KIND: "seed"}, priority=10)
        return Request(url, self.parse_page, meta=meta)

    def _due_articles(self, response: Response | None = None) -> Iterable[Request]:
        """Articles of this spider's sites that are due, and pages a crawl left unprocessed.

        Asked for at every start (an article no list names any more still gets its rechecks),
        and again when a list answers 304 (it names nothing).
        """
        if not self.settings.getbool("INCREMENTAL_ENABLED", True):
            return
        netlocs = [urlsplit(self.params.site).netloc] if self.params.site else list(self.site_rules.hosts)
        if response is not None:
            netlocs.append(urlsplit(response.url).netloc)
        for page in crawl_state(self.crawler).due(time.time(), site_prefixes(netlocs)):
            self.crawler.stats.inc_value("incremental/rechecked_due")
            yield self._listed(page.url)

    def _wanted_by_seed(self, url: str) -> bool:
        return any(slug in url for slug in self._seed_slugs)

    # -- sitemaps and feeds ------------------------------------------------------------------

    def _parse_sitemap(self, response: Response) -> Iterable[Request]:
        """Scrapy's sitemap handling (robots.txt, index, urlset, gzip), with requests marked."""
        if response.status == 304:
            yield from self._due_articles(response)
            return
        if self.params.since and not response.url.endswith("/robots.txt"):
            body = self._get_sitemap_body(response)
            if body and b"publication_date" in body:
                self._publication_dates.update(news_publication_dates(body))
        for request in super()._parse_sitemap(response):
            if request.callback == self._parse_sitemap:
                yield request.replace(meta={KIND: "sitemap"})
            else:
                yield self._listed(request.url)

    def _get_urls_from_sitemapindex(self, it: Iterable[dict[str, Any]]) -> Iterable[str]:
        # A shard last modified before `since` lists nothing newer, unless a seed wants an
        # article found only by its slug.
        if not self._seed_slugs:
            it = self._since_filter(it)
        return super()._get_urls_from_sitemapindex(it)

    def _since_filter(self, entries: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for entry in entries:
            if entry.get("lastmod"):
                self._listed_dates[entry["loc"]] = entry["lastmod"]
            # Kept when anything happened since: published (news sitemaps) or last modified.
            dates = [d for d in (entry.get("lastmod"), self._publication_dates.pop(entry["loc"], None)) if d]
            before = bool(dates) and all(self._published_before_since(d) for d in dates)
            if before and not self._wanted_by_seed(entry["loc"]):
                self.crawler.stats.inc_value("news/skipped/before_since")
                continue
            yield entry

    def _get_urls_and_callbacks_from_urlset(self, it: Iterable[dict[str, Any]]) -> Iterable[tuple[str, Any]]:
        for loc, callback in super()._get_urls_and_callbacks_from_urlset(self._since_filter(it)):
            if is_article_url(loc) or self._wanted_by_seed(loc):
                self.crawler.stats.inc_value("news/discovered/sitemap")
                yield loc, callback

    def parse_feed(self, response: Response) -> Iterable[Request]:
        """RSS 2.0 or Atom: every item links an article."""
        if response.status == 304:
            yield from self._due_articles(response)
            return
        if not isinstance(response, TextResponse):
            logger.warning("Ignoring feed that is not text: %s", response)
            self.crawler.stats.inc_value("news/invalid_feed")
            return
        response.selector.remove_namespaces()
        items = response.xpath("//item | //entry")
        if not items:
            logger.warning("Ignoring feed with no items: %s", response)
            self.crawler.stats.inc_value("news/invalid_feed")
        for item in items:
            link = item.xpath("link/text()").get() or item.xpath("link[not(@rel) or @rel='alternate']/@href").get()
            url = absolute_url(response.url, link) if link else None
            if not url:
                continue
            published = item.xpath("pubDate/text() | published/text() | updated/text()").get()
            if self._published_before_since(published) and not self._wanted_by_seed(url):
                self.crawler.stats.inc_value("news/skipped/before_since")
                continue
            self.crawler.stats.inc_value("news/discovered/feed")
            yield self._listed(url, published)

    def _published_before_since(self, value: str | None) -> bool:
        since = self.params.since
        published = parse_day(value) if since is not None else None
        return published is not None and published < since

    # -- pages -------------------------------------------------------------------------------

    def parse_start(self, response: Response) -> Iterable[Any]:
        """A URL given with -a url: a sitemap or feed is expanded, anything else is an article."""
        if response.status == 304:
            return []  # confirmed unchanged (a server-not-modified revisit in the WARC)
        if isinstance(response, XmlResponse) or response.url.endswith((".xml", ".xml.gz", ".rss")):
            root = response.xpath("name(/*)").get("") if isinstance(response, TextResponse) else ""
            if root.lower() in ("rss", "feed", "rdf:rdf"):
                return self.parse_feed(response)
            return self._parse_sitemap(response)
        return self.parse_page(response)

    def parse_page(self, response: Response) -> Iterable[Any]:
        if response.status == 304:
            if response.meta.get(KIND) in ("start", "listing"):
                yield from self._due_articles(response)
            return
        if (unfit := _unfit_page(response)) is not None:
            content_type = response.headers.get("Content-Type", b"").decode("latin-1") or "no Content-Type"
            logger.warning(
                "Skipped %s: %s (%s, %d bytes); archived in the WARC only",
                response.url, UNFIT_PAGES[unfit], content_type, len(response.body),
            )
            self.crawler.stats.inc_value(f"news/skipped/{unfit}")
            return
        rules = rules_for_url(response.url)
        depth = response.meta.get(DEPTH, 0)
        kind = response.meta.get(KIND, "url")
        page, base = page_selector(response), get_base_url(response)
        links = page_links(page, response.url, base, rules, is_article_url)
        if kind == "url" or (rules.is_article(response.url) and _typed_as_article(page)):
            yield from self._article(response, page, base, rules, links, kind)
        else:
            self.crawler.stats.inc_value("news/pages/not_article")
            if self.settings.getbool("INCREMENTAL_ENABLED", True):
                settle(crawl_state(self.crawler), response.url)  # not fetched again unless it changes
            if kind in ("start", "listing"):
                yield from self.parse_listing(response, page, base)
        for link in links:
            if link.rel == "cited_source" and host_of(link.url) in news_hosts():
                self.crawler.stats.inc_value("news/followed/cited")
                meta = {KIND: "cited", DEPTH: depth, CITED: response.url, "allow_offsite": True}
                yield Request(link.url, self.parse_page, meta=meta)
            elif link.rel in rules.follow and depth < self.settings.getint("RELATED_DEPTH", 1):
                self.crawler.stats.inc_value(f"news/followed/{link.rel}")
                yield Request(link.url, self.parse_page, meta={KIND: "related", DEPTH: depth + 1})

    def parse_listing(self, response: TextResponse, page: Selector, base: str) -> Iterable[Request]:
        """A section, tag or latest-news page (``page``, parsed): its articles, its next page, its "load more"."""
        rules = rules_for_url(response.url)
        for href in page.css("a::attr(href)").getall():
            url = absolute_url(base, href)
            if url and is_article_url(url):
                self.crawler.stats.inc_value("news/discovered/listing")
                yield self._listed(url)
        if (number := response.meta.get(LISTING_PAGE, 1)) >= self.settings.getint("LISTING_MAX_PAGES", 5):
            return
        meta = {KIND: "listing", LISTING_PAGE: number + 1, LISTING_BASE: response.url}
        for selector in rules.listing.next:
            for url in [absolute_url(base, href) for href in page.css(selector).getall()[:1]]:
                if url:
                    yield Request(url, self.parse_page, meta=meta)
        for selector in rules.listing.load_more:
            for url in [absolute_url(base, href) for href in page.css(selector).getall()[:1]]:
                if url:
                    yield Request(url, self.parse_load_more, meta=meta)

    def parse_load_more(self, response: Response) -> Iterable[Request]:
        """A CMS "load more" page: ``{"data": {"contents": [{"url": ...}], "load_more": true}}``."""
        if response.status == 304:
            yield from self._due_articles(response)
            return
        try:
            data = json.loads(response.text)["data"]
        except (AttributeError, ValueError, KeyError, TypeError):
            logger.warning("Ignoring load-more response that is not the expected JSON: %s", response)
            self.crawler.stats.inc_value("news/invalid_load_more")
            return
        base = response.meta.get(LISTING_BASE, response.url)
        urls = [item.get("url", "") for item in data.get("contents") or []]
        if isinstance(data.get("articles"), str):  # the variant that returns an HTML fragment
            urls += Selector(text=data["articles"]).css("a::attr(href)").getall()
        for url in (absolute_url(base, u) for u in urls if u):
            if url and is_article_url(url):
                self.crawler.stats.inc_value("news/discovered/load_more")
                yield self._listed(url)
        page = response.meta.get(LISTING_PAGE, 2)
        if data.get("load_more") and page < self.settings.getint("LISTING_MAX_PAGES", 5):
            next_url = re.sub(r"-(\d+)(\.html)", lambda m: f"-{int(m[1]) + 1}{m[2]}", response.url, count=1)
            if next_url != response.url:
                meta = {KIND: "listing", LISTING_PAGE: page + 1, LISTING_BASE: base}
                yield Request(next_url, self.parse_load_more, meta=meta)

    def _article(self, response: TextResponse, page: Selector, base: str, rules: SiteRules, links: list[Link],
                 kind: str) -> Iterable[ArticlePage]:
        self.crawler.stats.inc_value(f"news/articles/{rules.name}")
        if not self.settings.getbool("EXTRACTION_ENABLED", True):
            return
        canonical = page.css('link[rel="canonical"]::attr(href)').get()
        yield ArticlePage(
            url=response.url,
            html=response.text,
            site=host_of(response.url),
            spider=self.name,
            crawl_id=self.crawl_id,
            fetched_at=response.meta.get("warc_date") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            warc_filename=response.meta.get("warc_filename"),
            warc_record_id=response.meta.get("warc_record_id"),
            canonical_url=absolute_url(base, canonical) if canonical else None,
            cites=[link.url for link in links if link.rel == "cited_source"],
            related=list(dict.fromkeys(link.url for link in links if link.rel in RELATED_RELATIONS)),
            links=[link.as_dict() for link in links],
            content_language=(response.headers.get("Content-Language") or b"").decode("latin-1") or None,
            since_applies=kind in SINCE_APPLIES_TO,
        )


def page_selector(response: TextResponse) -> Selector:
    """The page parsed, for the spider alone.

    Not ``response.selector``: the response and its cached selector refer to each other, so the
    tree (a megabyte for a 100 KiB page) would wait for the garbage collector's rare full pass,
    and a crawl's memory would grow by hundreds of megabytes between passes.
    """
    return Selector(text=response.text, type="html")


def _typed_as_article(page: Selector) -> bool:
    """A page that says what it is (og:type video, website...) is believed; no og:type is no veto."""
    og_type = page.xpath('//meta[@property="og:type"]/@content').get()
    return og_type is None or og_type.strip().lower() in ("article", "news", "newsarticle")


UNFIT_PAGES = {"not_html": "not an HTML page", "binary": "binary content, whatever its type says", "empty": "empty page"}
# Signatures of formats servers send under a wrong type (PDF, images, archives, media, fonts).
BINARY_SIGNATURES = (b"%PDF-", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"OggS",
                     b"ID3", b"wOFF", b"wOF2", b"\x00\x00\x01\x00", b"7z\xbc\xaf", b"Rar!")
_CONTROL_BYTES = bytes(range(9)) + bytes(range(14, 32))


def _unfit_page(response: Response) -> str | None:
    """Why a response is no page to extract (a key of UNFIT_PAGES), or None if it is one."""
    if not isinstance(response, TextResponse) or not _looks_like_html(response):
        return "not_html"
    head = response.body[:1024]
    if not head.strip():
        return "empty"
    if head.startswith(BINARY_SIGNATURES):
        return "binary"
    # Text has next to no control bytes; UTF-16 and UTF-32 text has NULs, and says so (BOM or charset).
    wide_text = response.encoding.lower().startswith(("utf-16", "utf-32"))
    if not wide_text and len(head.translate(None, delete=_CONTROL_BYTES)) < 0.9 * len(head):
        return "binary"
    return None


def _looks_like_html(response: TextResponse) -> bool:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    return "html" in content_type or (not content_type and b"<html" in response.body[:2048].lower())


def news_publication_dates(sitemap: bytes) -> dict[str, str]:
    """loc -> news:publication_date of a Google News sitemap (entities never resolved)."""
    parser = lxml.etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False)
    try:
        root = lxml.etree.fromstring(sitemap, parser=parser)
    except lxml.etree.XMLSyntaxError:
        return {}  # Scrapy's own sitemap parser reports this body
    dates = {}
    for url in root.iterfind("{*}url") if root is not None else ():
        loc, published = url.findtext("{*}loc"), url.findtext(".//{*}publication_date")
        if loc and published:
            dates[loc.strip()] = published.strip()
    return dates


def spider_for(rules: SiteRules) -> type[NewsSpider]:
    return type(
        f"{rules.name.capitalize()}Spider",
        (NewsSpider,),
        {"name": rules.name, "site_rules": rules, "__module__": "crawler.spiders", "__doc__": f"Spider for {', '.join(rules.hosts)}."},
    )


def site_spiders() -> list[type[NewsSpider]]:
    return [spider_for(rules) for name, rules in all_rules().items() if name != "generic"]
