"""Article extraction: trafilatura, helped by per-site rules where a site needs it.

``extract_article`` is a pure function of (html, url) so that it runs in worker
processes: CPU-heavy parsing never blocks the Twisted reactor. The pipeline around it
turns an ``ArticlePage`` into the article record of INTERFACE.md.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import ctypes.util
import functools
import hashlib
import logging
import multiprocessing
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from functools import cache, partial
from html import unescape
from typing import TYPE_CHECKING, Any

import lxml.etree
import lxml.html
from cssselect import GenericTranslator
from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import ArticlePage
from crawler.sites import SiteRules, host_of, rules_for_url
from crawler.urls import url_key
from pipelines.authors import clean_authors, publisher_names
from pipelines.cleaning import clean_paragraphs, normalize_space, squash, word_count
from pipelines.evaluation import shingles
from pipelines.jsonld import JsonLd
from pipelines.blocks import related_lines, site_link_texts
from pipelines.stories import TextFeatures
from pipelines.titles import choose_title, domain_label

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

_translator = GenericTranslator()


@cache
def _xpath(css: str) -> str:
    return _translator.css_to_xpath(css)


def _select(tree: lxml.html.HtmlElement, selectors: list[str]) -> list[lxml.html.HtmlElement]:
    """Elements matched by the first selector that matches anything."""
    for css in selectors:
        found = tree.xpath(_xpath(css))
        if found:
            return found
    return []


def _first_text(tree: lxml.html.HtmlElement, selectors: list[str]) -> str | None:
    for element in _select(tree, selectors):
        if text := normalize_space(element.text_content()):
            return text
    return None


# -- dates ---------------------------------------------------------------------------------

_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d\d)(\d\d)$")


def parse_datetime(value: str, rules: SiteRules) -> str | None:
    """ISO 8601 with the page's UTC offset, or the site's zone for dates printed without one."""
    value = normalize_space(value)
    if not value:
        return None
    parsed: datetime | None = None
    iso = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", value.replace("Z", "+00:00").replace(" ", "T", 1))
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        for fmt in rules.date_formats:
            # Printed dates carry extra words ("Thứ Ba, 25/11/2025 15:50"): find the formatted part.
            for start in range(len(value)):
                try:
                    parsed = datetime.strptime(value[start:], fmt)
                    break
                except ValueError:
                    continue
            if parsed:
                break
    if parsed is None:
        return None
    if parsed.tzinfo is None and rules.tzinfo is not None:
        parsed = parsed.replace(tzinfo=rules.tzinfo)
    return parsed.isoformat()


_PUBLISHED_META = (
    '//meta[@property="article:published_time"]/@content',
    '//meta[@itemprop="datePublished"]/@content',
    '//*[@itemprop="datePublished"]/@datetime',
)


def _published_candidates(tree: lxml.html.HtmlElement, rules: SiteRules, json_ld: JsonLd) -> Iterator[str]:
    """Every statement of the publication time, most trusted first."""
    for element in _select(tree, rules.selectors.published):
        yield element.get("datetime") or element.get("content") or element.text_content()
    for xpath in _PUBLISHED_META:
        yield from tree.xpath(xpath)
    if value := json_ld.article_value("datePublished") or json_ld.first_value("datePublished"):
        yield value
    yield from tree.xpath("//article//time/@datetime")


def _published(tree: lxml.html.HtmlElement, rules: SiteRules, json_ld: JsonLd, url: str) -> str | None:
    """The first stated publication time, in the page's own UTC offset when the page gives it.

    Pages often state one instant twice: ``article:published_time`` in UTC and JSON-LD in
    local time. The local form keeps the day the newsroom printed.
    """
    found = (d for d in (parse_datetime(v, rules) for v in _published_candidates(tree, rules, json_ld)) if d)
    first_stated = next(found, None)
    if first_stated is None:
        return _searched_date(tree, url)
    first = datetime.fromisoformat(first_stated)
    if first.utcoffset() or first.tzinfo is None:
        return first_stated
    for other in map(datetime.fromisoformat, found):
        if other.utcoffset() and abs((other - first).total_seconds()) < 60:
            return other.isoformat()
    return first_stated


def _searched_date(tree: lxml.html.HtmlElement, url: str) -> str | None:
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


# -- language ------------------------------------------------------------------------------


# "en" is the default language of most CMS templates, and pages in Swahili, Zulu, German or
# Bengali keep it: on a page that declares "en", a text this long whose language is detected
# this surely outranks the declaration. Other declarations are rarely wrong (15 of the 17 wrong
# ones on the development set said "en"), and detection costs a millisecond a page.
DEFAULT_TEMPLATE_LANGUAGE = "en"
LANGUAGE_DETECTION_MIN_CHARS = 400
# Enough to be sure (2,000 chose the same language on every page of the development set); the
# rest only costs time: py3langid reads the text byte by byte in Python, 0.3 ms per 1,000.
LANGUAGE_DETECTION_CHARS = 1000
LANGUAGE_DETECTION_MIN_PROBABILITY = 0.95


@cache
def _language_identifier() -> Any | None:
    """py3langid's model (83 MB in memory), or None when it cannot be loaded: declarations stand."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    except OSError as exc:  # it decompresses through a temporary file: a full disk stops it
        logger.warning("Language detection off: its model could not be loaded (%s); declared languages stand", exc)
        return None
    give_back_memory()  # decompressing took 35 MB more, for a moment
    return identifier


def declared_language(tree: lxml.html.HtmlElement, content_language: str | None) -> str | None:
    """The ISO 639-1 code a page declares (``<html lang>``, Content-Language, og:locale), if any."""
    declared = tree.get("lang") or content_language or "".join(tree.xpath('//meta[@property="og:locale"]/@content'))
    code = re.split(r"[-_,; ]", declared.strip().lower())[0] if declared else ""
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def choose_language(code: str | None, text: str) -> str | None:
    """The article's language: its declaration, unless detection on its text is sure it is wrong."""
    if not text or (code and (code != DEFAULT_TEMPLATE_LANGUAGE or len(text) < LANGUAGE_DETECTION_MIN_CHARS)):
        return code
    identifier = _language_identifier()
    if identifier is None:
        return code
    detected, probability = identifier.classify(text[:LANGUAGE_DETECTION_CHARS])
    if not re.fullmatch(r"[a-z]{2}", detected):  # records carry ISO 639-1 codes ("yue", "zxx" have none)
        return code
    if code is None:
        return detected
    if detected == code or probability < LANGUAGE_DETECTION_MIN_PROBABILITY:
        return code  # the common case: one detection agrees with the page
    # Each half on its own must be surely the same language: an English report quoting German
    # at length is still English.
    half = len(text) // 2
    (first, p_first), (second, p_second) = (
        identifier.classify(part[:LANGUAGE_DETECTION_CHARS]) for part in (text[:half], text[half:]))
    sure = min(p_first, p_second) >= LANGUAGE_DETECTION_MIN_PROBABILITY
    return detected if sure and first == second == detected else code


# -- text ----------------------------------------------------------------------------------


def _paragraphs(text: str | None) -> list[str]:
    return [p for p in (normalize_space(line) for line in (text or "").splitlines()) if p]


def _trafilatura_text(tree: lxml.html.HtmlElement, url: str, mode: str) -> str | None:
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


_NEVER_TEXT = lxml.etree.XPath("//script[not(@type='application/ld+json')] | //style | //svg | //noscript")


def _visible_texts(tree: lxml.html.HtmlElement) -> Iterator[str]:
    """The body's text nodes: extract_article drops scripts and styles before it asks (JSON-LD is not in <body>)."""
    body = tree.find("body")
    return body.itertext() if body is not None else iter(())


def _visible_text(tree: lxml.html.HtmlElement) -> str:
    return "".join(_visible_texts(tree))


# A precision-mode text this short, and this small a share of the page's words, may have lost
# the article (a split body, a live blog): try trafilatura's balanced mode, and keep it when it
# finds clearly more. A short text that is most of the page is a short article: no second run.
SHORT_TEXT_WORDS = 250
SHORT_TEXT_PAGE_SHARE = 0.25
MORE_TEXT_RATIO = 1.5


def _generic_body(tree: lxml.html.HtmlElement, url: str, visible_text: Callable[[], str]) -> str | None:
    precise = _trafilatura_text(tree, url, "precision")
    precise_words = word_count(precise)
    if precise_words >= SHORT_TEXT_WORDS or precise_words > SHORT_TEXT_PAGE_SHARE * word_count(visible_text()):
        return precise
    balanced = _trafilatura_text(tree, url, "balanced")
    return balanced if word_count(balanced) > MORE_TEXT_RATIO * precise_words else precise


# The article body as the publisher states it in JSON-LD: used when it holds clearly more
# than the extracted text and contains most of it (the same article, not a teaser).
JSON_LD_MIN_WORDS = 50
JSON_LD_CONTAINS = 0.8
_BLOCK_END = re.compile(r"<\s*(?:br\s*/?|/(?:p|li|h[1-6]|div|blockquote))\s*>", re.IGNORECASE)


def _json_ld_body(json_ld: JsonLd, text: str) -> str | None:
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


def _printed_names(tree: lxml.html.HtmlElement, visible_text: str) -> str:
    """Where a page spells its authors' names: its text, meta tags and JSON-LD (not links or classes)."""
    return "\n".join([visible_text, *tree.xpath("//meta/@content"),
                      *tree.xpath('//script[@type="application/ld+json"]/text()')])


def _lead(paragraphs: list[str], description: str | None, page_texts: Callable[[], Iterable[str]]) -> str | None:
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


EMPTY = {
    "title": None, "author": None, "published": None, "language": None, "declared_language": None,
    "section": None, "tags": [],
    "lead": None, "text": "", "rules_drift": False,
}


class TooComplex(Exception):
    """A page with more elements than extraction is given memory and time for."""

    def __init__(self, elements: int) -> None:
        super().__init__(elements)
        self.elements = elements


def extract_article(html: str, url: str, content_language: str | None = None, max_elements: int = 0,
                    detect_language: bool = True) -> dict[str, Any]:
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
        return {**EMPTY, "rules": rules.name}
    # A fragment ("<svg>...", "<p>...</p><p>...</p>") comes back as its first element inside the
    # <html> lxml adds: work on that <html>, which every step may prune and which has the <body>.
    tree = tree.getroottree().getroot()
    if max_elements and (elements := sum(1 for _ in tree.iter())) > max_elements:
        del tree  # not kept alive by the traceback: the worker gives its memory back at once
        raise TooComplex(elements)
    # page_metadata only reads the tree (a test holds it to that), so no copy.
    metadata = page_metadata(tree, url)
    json_ld = JsonLd.of(tree)
    title = _first_text(tree, rules.selectors.title) or choose_title(
        tree, metadata.title, metadata.sitename, url, json_ld)
    headlines = [title, *(normalize_space(h.text_content()) for h in tree.iter("h1"))]
    for element in _select(tree, rules.selectors.prune):
        element.drop_tree()
    published = _published(tree, rules, json_ld, metadata.url or url)
    # trafilatura drops these elements in every run: once here makes each of its tree copies
    # smaller. JSON-LD stays: trafilatura's fallbacks read the article body from it.
    for element in _NEVER_TEXT(tree):
        element.drop_tree()
    visible_text = cache(partial(_visible_text, tree))  # asked by several steps, on some pages only

    lead = _first_text(tree, rules.selectors.lead)
    body_elements = _select(tree, rules.selectors.body)
    drift = bool(rules.selectors.body) and not body_elements
    if body_elements:
        # The site's body container: keep every paragraph in it (recall), trafilatura
        # still drops scripts, forms and leftovers.
        fragment = lxml.html.fromstring("<html><body></body></html>")
        for element in body_elements:
            fragment.body.append(copy.deepcopy(element))
        body = _trafilatura_text(fragment, url, "recall")
    else:
        body = _generic_body(tree, url, visible_text)
        body = _json_ld_body(json_ld, body or "") or body

    author = _first_text(tree, rules.selectors.author) or clean_authors(
        metadata.author, publisher_names(json_ld, metadata.sitename, domain_label(url)), lambda: _printed_names(tree, visible_text()))
    authors = [a.strip() for a in (author or "").split(";")]
    paragraphs = _paragraphs(body)
    # Teaser lists are bullet items: only then are the page's link texts worth collecting.
    links = site_link_texts(tree, url) if any(p.startswith(("- ", "• ")) for p in paragraphs) else set()
    paragraphs = clean_paragraphs(paragraphs, headlines, link_texts=links, authors=authors,
                                  not_article=related_lines(tree, url))
    if lead is None and paragraphs and normalize_space(metadata.description) == paragraphs[0]:
        lead = paragraphs[0]
    if lead is None:
        lead = _lead(paragraphs, metadata.description, partial(_visible_texts, tree))
    if lead and (not paragraphs or paragraphs[0] != lead):
        paragraphs.insert(0, lead)
    text = "\n\n".join(paragraphs)

    tags = [t for t in (normalize_space(e.text_content()) for e in _select(tree, rules.selectors.tags)) if t]
    declared = declared_language(tree, content_language)
    return {
        "title": title,
        "author": author,
        "published": published,
        "language": choose_language(declared, text) if detect_language else None,
        "declared_language": declared,
        "section": _first_text(tree, rules.selectors.section) or (metadata.categories or [None])[0],
        "tags": list(dict.fromkeys(tags or metadata.tags or [])),
        "lead": lead,
        "text": text,
        "rules": rules.name,
        "rules_drift": drift,
    }


# -- the record ----------------------------------------------------------------------------


def content_digest(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


def build_record(page: ArticlePage, extracted: dict[str, Any]) -> dict[str, Any]:
    """The article record of INTERFACE.md, in its field order."""
    canonical = page.canonical_url if page.canonical_url and _same_site(page.canonical_url, page.url) else page.url
    canonical = canonical.split("#", 1)[0]
    return {
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
    }


def _same_site(a: str, b: str) -> bool:
    """A canonical link is trusted only when it stays on the page's site."""
    rules = rules_for_url(a)
    return host_of(a) == host_of(b) or (rules.name != "generic" and rules.owns(b))


_NATIVE_THREAD_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_per_worker() -> None:
    """Keep numerical libraries (numpy, which trafilatura's dependencies import) on the worker's own core.

    The pool already runs one worker per core; a BLAS thread pool in each would make them
    fight over the same cores. Runs before numpy is first imported in the worker.
    """
    for name in _NATIVE_THREAD_SETTINGS:
        os.environ.setdefault(name, "1")


def die_with_parent(parent: int) -> None:
    """Ask Linux to end this worker when the crawl that started it (``parent``) dies, however it dies.

    A crawl killed with SIGKILL cannot shut its pool down; without this its workers (and
    multiprocessing's resource tracker, which they keep alive) would run on as orphans.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the crawl died before the call took effect (adopted by init or a subreaper)
            os._exit(0)


def ignore_interrupts() -> None:
    """Ctrl-C is for the crawl, not its workers.

    A terminal sends SIGINT to every process of its foreground group: the crawl then stops
    gracefully and still needs its workers for the pages it is finishing; they end when it
    shuts its pool down. (SIGTERM keeps its default: the pool itself ends broken workers with it.)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_worker(parent: int) -> None:
    ignore_interrupts()
    one_thread_per_worker()
    die_with_parent(parent)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None  # runs ldconfig: once
    return ctypes.CDLL(name) if name else None


def give_back_memory() -> None:
    """Return freed heap pages to the system (about a millisecond).

    lxml allocates trees with malloc: freed, their pages stay with the process (a 2 MB page
    can hold 200 MB) until glibc is asked to return them.
    """
    if (libc := _libc()) is not None:
        libc.malloc_trim(0)


def extract_in_worker(html: str, url: str, content_language: str | None, max_elements: int,
                      story_features: bool = True) -> dict[str, Any]:
    """``extract_article`` in a pool worker (language left to the crawl), with the text's story features
    (``text_features``) when stories are on, then the page's memory back."""
    try:
        extracted = extract_article(html, url, content_language, max_elements, detect_language=False)
        wanted = story_features and extracted["text"]
        extracted["text_features"] = TextFeatures.of(extracted["title"], extracted["text"]) if wanted else None
        return extracted
    finally:
        give_back_memory()


class ArticleRecord(dict):
    """An article record (a dict of INTERFACE.md's fields) and, out of its fields, the story features
    of its text (``pipelines.stories.TextFeatures``) computed with it: the story index needs them,
    the feed and the stored JSON never see them."""

    text_features: TextFeatures | None = None


_PR_SET_PDEATHSIG = 1


# Beyond four, workers add memory (80-120 MB each) faster than a crawl's politeness lets them work.
MAX_DEFAULT_WORKERS = 4


class ExtractionPipeline:
    """ArticlePage -> article record, extracted in a pool of worker processes."""

    def __init__(self, crawler: Crawler, workers: int, max_elements: int = 0) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = workers
        self.max_elements = max_elements
        self._pool: ProcessPoolExecutor | None = None
        self._drift_warned: set[str] = set()
        self._emitted: dict[str, str] = {}  # url_key of canonical URLs emitted -> the URL emitted
        # The story index (pipelines.storyindex) takes them from the record; without it, no need.
        self.story_features = crawler.settings.getbool("STORIES_ENABLED", True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("EXTRACTION_ENABLED", True):
            raise NotConfigured
        workers = crawler.settings.getint("EXTRACTION_WORKERS") or min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
        return cls(crawler, workers, crawler.settings.getint("EXTRACTION_MAX_ELEMENTS"))

    def open_spider(self) -> None:
        self._pool = self._new_pool()
        # Languages are detected here, once per crawl, not in every worker (83 MB each):
        # loading the model now (0.6 s) keeps that pause off the first article.
        _language_identifier()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: workers start clean, without the reactor's threads and sockets.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=start_worker, initargs=(os.getpid(),))

    async def _in_worker(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a worker. A worker that died (killed, out of memory, a crash in a
        C library) breaks the whole pool: a new pool takes over, and the call is tried once more."""
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            if self._pool is pool and pool is not None:  # the first call to see it replaces it
                logger.warning("An extraction worker died: starting a new pool of %d workers", self.workers)
                self.stats.inc_value("extraction/pool_restarts")
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return await loop.run_in_executor(self._pool, function, *args)

    def close_spider(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        try:
            extracted = await self._in_worker(
                extract_in_worker, item.html, item.url, item.content_language, self.max_elements, self.story_features)
        except TooComplex as exc:
            self.stats.inc_value("extraction/too_complex")
            raise DropItem(
                f"Too complex to extract: {item.url} has {exc.elements} elements, over "
                f"EXTRACTION_MAX_ELEMENTS={self.max_elements}: archived in the WARC, no article record") from exc
        except Exception as exc:  # a page that breaks the parser must not stop the crawl
            self.stats.inc_value("extraction/failed")
            raise DropItem(f"Extraction failed for {item.url}: {type(exc).__name__}: {exc}") from exc
        extracted["language"] = choose_language(extracted["declared_language"], extracted["text"])
        if extracted["rules_drift"]:
            self._count_drift(extracted["rules"])
        if not extracted["text"]:
            self.stats.inc_value("extraction/no_text")
            raise DropItem(f"No article text in {item.url}: archived in the WARC, no article record")
        since = getattr(self.crawler.spider, "params", None) and self.crawler.spider.params.since
        published = _published_day(extracted["published"])
        if item.since_applies and since and published and published < since:
            self.stats.inc_value("extraction/before_since")
            raise DropItem(f"Published {extracted['published']}, before since={since}: {item.url}")
        record = ArticleRecord(build_record(item, extracted))
        record.text_features = extracted.get("text_features")
        key = url_key(record["canonical_url"])
        if key in self._emitted:
            self.stats.inc_value("extraction/duplicates")
            raise DropItem(f"Same article as {self._emitted[key]} (canonical {record['canonical_url']}): {item.url}")
        self._emitted[key] = item.url
        self.stats.inc_value("extraction/articles")
        return record

    def _count_drift(self, site: str) -> None:
        self.stats.inc_value(f"extraction/rules_drift/{site}")
        if site not in self._drift_warned:
            self._drift_warned.add(site)
            logger.warning("Site rules %r: body selector matched nothing; fell back to generic extraction", site)


def _published_day(published: str | None) -> date | None:
    try:
        return datetime.fromisoformat(published).date() if published else None
    except ValueError:
        return None

