"""Article extraction: the clean text and metadata of one article page.

``extract_article`` is a pure function of (html, url) so that it runs in worker processes
(``pipelines.workers``): CPU-heavy parsing never blocks the Twisted reactor. Each step has its
module: site selectors (``selection``), metadata (``metadata``, ``titles``, ``authors``,
``published``, ``language``), the text (``body``, ``blocks``, ``cleaning``). The pipeline below
turns an ``ArticlePage`` into the article record of INTERFACE.md (``record``).
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import lxml.html
from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import ArticlePage
from crawler.sites import rules_for_url
from pipelines.authors import clean_authors, printed_names, publisher_names
from pipelines.blocks import PageLinks, related_lines, site_link_texts
from pipelines.body import (
    NEVER_TEXT,
    generic_body,
    json_ld_body,
    lead_of,
    paragraphs_of,
    trafilatura_text,
    visible_text,
    visible_texts,
)
from pipelines.cleaning import clean_paragraphs, normalize_space
from pipelines.jsonld import JsonLd
from pipelines.language import choose_language, declared_language, language_identifier
from pipelines.published import published
from pipelines.record import build_record
from pipelines.selection import first_text, select
from pipelines.stories import TextFeatures
from pipelines.titles import choose_title, domain_label
from pipelines.workers import MAX_DEFAULT_WORKERS, WorkerPool, give_back_memory

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


@dataclass
class Extraction:
    """What one article page gives: its clean text (empty when it holds no article) and metadata."""

    rules: str  # the name of the site rules applied ("generic" for none)
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO 8601, in the page's own UTC offset when it states one
    language: str | None = None  # ISO 639-1
    declared_language: str | None = None  # as the page declares it, before detection
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    lead: str | None = None
    text: str = ""
    rules_drift: bool = False  # the site's body selector matched nothing: the generic path ran
    text_features: TextFeatures | None = None  # for stories, when the crawl asks for them


class TooComplex(Exception):
    """A page with more elements than extraction is given memory and time for."""

    def __init__(self, elements: int) -> None:
        super().__init__(elements)
        self.elements = elements


def extract_article(html: str, url: str, content_language: str | None = None, max_elements: int = 0,
                    detect_language: bool = True) -> Extraction:
    """Clean text and metadata of one article page; ``text`` is empty when there is none.

    Raises TooComplex when the page has more than ``max_elements`` elements (0: no limit).
    ``detect_language=False`` leaves ``language`` to the caller (``choose_language`` on
    ``declared_language`` and ``text``): the crawl detects in its own process, so its extraction
    workers need not each hold the language model.
    """
    from trafilatura.utils import load_html

    from pipelines.metadata import page_metadata

    rules = rules_for_url(url)
    # trafilatura's loader copes with XML declarations, stray bytes and broken markup.
    tree = load_html(html)
    if tree is None:
        return Extraction(rules.name)
    # A fragment ("<svg>...", "<p>...</p><p>...</p>") comes back as its first element inside the
    # <html> lxml adds: work on that <html>, which every step may prune and which has the <body>.
    tree = tree.getroottree().getroot()
    if max_elements and (elements := sum(1 for _ in tree.iter())) > max_elements:
        del tree  # not kept alive by the traceback: the worker gives its memory back at once
        raise TooComplex(elements)
    # page_metadata only reads the tree (a test holds it to that), so no copy.
    metadata = page_metadata(tree, url)
    json_ld = JsonLd.of(tree)
    title = first_text(tree, rules.selectors.title) or choose_title(
        tree, metadata.title, metadata.sitename, url, json_ld)
    headlines = [title, *(normalize_space(h.text_content()) for h in tree.iter("h1"))]
    for element in select(tree, rules.selectors.prune):
        element.drop_tree()
    stated = published(tree, rules, json_ld, metadata.url or url)
    # trafilatura drops these elements in every run: once here makes each of its tree copies
    # smaller. JSON-LD stays: trafilatura's fallbacks read the article body from it.
    for element in NEVER_TEXT(tree):
        element.drop_tree()
    page_text = cache(partial(visible_text, tree))  # asked by several steps, on some pages only

    lead = first_text(tree, rules.selectors.lead)
    body_elements = select(tree, rules.selectors.body)
    drift = bool(rules.selectors.body) and not body_elements
    if body_elements:
        # The site's body container: keep every paragraph in it (recall), trafilatura
        # still drops scripts, forms and leftovers.
        fragment = lxml.html.fromstring("<html><body></body></html>")
        for element in body_elements:
            fragment.body.append(copy.deepcopy(element))
        body = trafilatura_text(fragment, url, "recall")
    else:
        body = generic_body(tree, url, page_text)
        body = json_ld_body(json_ld, body or "") or body

    author = first_text(tree, rules.selectors.author) or clean_authors(
        metadata.author, publisher_names(json_ld, metadata.sitename, domain_label(url)), lambda: printed_names(tree, page_text()))
    authors = [a.strip() for a in (author or "").split(";")]
    paragraphs = paragraphs_of(body)
    page_links = PageLinks(url, metadata.url)  # one reading of the page's links for both rules
    # Teaser lists are bullet items: only then are the page's link texts worth collecting.
    links = site_link_texts(tree, page_links) if any(p.startswith(("- ", "• ")) for p in paragraphs) else set()
    paragraphs = clean_paragraphs(paragraphs, headlines, link_texts=links, authors=authors,
                                  not_article=related_lines(tree, page_links, paragraphs))
    if lead is None and paragraphs and normalize_space(metadata.description) == paragraphs[0]:
        lead = paragraphs[0]
    if lead is None:
        lead = lead_of(paragraphs, metadata.description, partial(visible_texts, tree))
    if lead and (not paragraphs or paragraphs[0] != lead):
        paragraphs.insert(0, lead)
    text = "\n\n".join(paragraphs)

    tags = [t for t in (normalize_space(e.text_content()) for e in select(tree, rules.selectors.tags)) if t]
    declared = declared_language(tree, content_language)
    return Extraction(
        rules=rules.name,
        title=title,
        author=author,
        published=stated,
        language=choose_language(declared, text) if detect_language else None,
        declared_language=declared,
        section=first_text(tree, rules.selectors.section) or (metadata.categories or [None])[0],
        tags=list(dict.fromkeys(tags or metadata.tags or [])),
        lead=lead,
        text=text,
        rules_drift=drift,
    )


def extract_in_worker(html: str, url: str, content_language: str | None, max_elements: int,
                      story_features: bool = True) -> Extraction:
    """``extract_article`` in a pool worker (language left to the crawl), with the text's story features
    (``text_features``) when stories are on, then the page's memory back."""
    try:
        extracted = extract_article(html, url, content_language, max_elements, detect_language=False)
        if story_features and extracted.text:
            extracted.text_features = TextFeatures.of(extracted.title, extracted.text)
        return extracted
    finally:
        give_back_memory()


class ExtractionPipeline:
    """ArticlePage -> article record, extracted in a pool of worker processes."""

    def __init__(self, crawler: Crawler, workers: int, max_elements: int = 0) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = workers
        self.max_elements = max_elements
        self._pool: WorkerPool | None = None
        self._drift_warned: set[str] = set()
        # The story index (pipelines.storyindex) takes them from the record; without it, no need.
        self.story_features = crawler.settings.getbool("STORIES_ENABLED", True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("EXTRACTION_ENABLED", True):
            raise NotConfigured
        workers = crawler.settings.getint("EXTRACTION_WORKERS") or min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
        return cls(crawler, workers, crawler.settings.getint("EXTRACTION_MAX_ELEMENTS"))

    def open_spider(self) -> None:
        self._pool = WorkerPool(self.workers, on_restart=lambda: self.stats.inc_value("extraction/pool_restarts"))
        # Languages are detected here, once per crawl, not in every worker (83 MB each):
        # loading the model now (0.6 s) keeps that pause off the first article.
        language_identifier()

    def close_spider(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        try:
            extracted = await self._pool.run(
                extract_in_worker, item.html, item.url, item.content_language, self.max_elements, self.story_features)
        except TooComplex as exc:
            self.stats.inc_value("extraction/too_complex")
            raise DropItem(
                f"Too complex to extract: {item.url} has {exc.elements} elements, over "
                f"EXTRACTION_MAX_ELEMENTS={self.max_elements}: archived in the WARC, no article record") from exc
        except Exception as exc:  # a page that breaks the parser must not stop the crawl
            self.stats.inc_value("extraction/failed")
            raise DropItem(f"Extraction failed for {item.url}: {type(exc).__name__}: {exc}") from exc
        extracted.language = choose_language(extracted.declared_language, extracted.text)
        if extracted.rules_drift:
            self._count_drift(extracted.rules)
        if not extracted.text:
            self.stats.inc_value("extraction/no_text")
            raise DropItem(f"No article text in {item.url}: archived in the WARC, no article record")
        return build_record(item, extracted)

    def _count_drift(self, site: str) -> None:
        self.stats.inc_value(f"extraction/rules_drift/{site}")
        if site not in self._drift_warned:
            self._drift_warned.add(site)
            logger.warning("Site rules %r: body selector matched nothing; fell back to generic extraction", site)
