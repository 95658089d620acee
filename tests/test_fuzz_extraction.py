"""Extraction (pipelines/extraction.py), fuzzed in this process: whatever a server sends, extraction
returns an article record (empty text when there is none) and never raises. A page that made it
raise would count as an extraction failure of the crawl, and its article would be lost."""

import json

from hypothesis import given
from hypothesis import strategies as st
from scrapy.http import HtmlResponse

from pipelines.extraction import Extraction, extract_article
from tests.fuzzing import fuzz

# One article URL of each site file (its site rules run) and generic ones.
URLS = st.sampled_from([
    "https://www.vietnamplus.vn/quan-he-hop-tac-post1079147.vnp", "https://nhandan.vn/mong-muon-post925748.html",
    "https://www.vietnam.vn/en/quan-he-hop-tac", "https://lecourrier.vn/le-ministre/1296098.html",
    "https://huengaynay.vn/the-gioi/quan-he-160296.html", "https://en.sggp.org.vn/pm-receives-post122020.html",
    "https://example.org/news/2024/03/05/a-story.html", "https://example.org/",
])
# Content-Language headers, as received.
CONTENT_LANGUAGES = st.sampled_from([None, "vi", "en", "", "zz", "en-US, fr", "x" * 100])

TAGS = ["html", "head", "body", "article", "main", "div", "p", "span", "h1", "h2", "title", "script", "style", "template",
        "svg", "table", "tr", "td", "ul", "li", "a", "b", "br", "time", "figure", "figcaption", "aside", "nav", "footer",
        "noscript", "iframe", "meta", "link", "blockquote", "pre", "math", "select", "form", "input", "xml"]
ATTRIBUTES = ["class", "id", "lang", "href", "src", "content", "property", "name", "rel", "type", "datetime", "itemprop",
              "shadowrootmode", "charset", "http-equiv"]
# Text a news page holds, and the pieces of markup parsers stumble on.
WORDS = st.one_of(st.text(max_size=30), st.sampled_from([
    "Tin liên quan", "Ảnh: TTXVN", "Bộ trưởng Lê Hoài Trung tiếp ông Yamamoto Ichita.", "25/11/2025 15:50",
    "2025-11-25T08:50:00Z", "Theo vietnamplus.vn", "Nguồn: https://nhandan.vn/x-post1.html", "- ", "• ",
    "article__body", "standfirst", "application/ld+json", "og:title", "article:published_time",
    '{"@type": "NewsArticle", "articleBody": "x", "headline": null}', "[" * 50, "&amp;", "&#0;", "&#x110000;", "&nbsp;",
    "<!--", "-->", "<![CDATA[", "]]>", "<?xml version='1.0' encoding='utf-16'?>", "\x00", "\ufeff", "\u200b",
]))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["@type", "@graph", "headline", "articleBody", "author", "name", "datePublished", "publisher",
                         "keywords", "inLanguage", "itemListElement"]) | st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An element with some attributes around some children, closed or not."""
    return st.builds(
        lambda tag, attributes, kids, closed: f"<{tag}" + "".join(f' {k}="{v}"' for k, v in attributes) + ">"
        + "".join(kids) + (f"</{tag}>" if closed else ""),
        st.sampled_from(TAGS), st.lists(st.tuples(st.sampled_from(ATTRIBUTES), WORDS), max_size=3),
        st.lists(children, max_size=4), st.booleans(),
    )


MARKUP = st.lists(st.recursive(WORDS, element, max_leaves=25), max_size=4).map("".join)


@st.composite
def pages(draw) -> str:
    """HTML-ish text: bare markup, or a page with meta tags, JSON-LD and a canonical link around it."""
    if draw(st.booleans()):
        return draw(MARKUP)
    head = "".join(f'<meta property="{draw(st.sampled_from(["og:title", "og:type", "article:published_time", "description"]))}"'
                   f' content="{draw(WORDS)}">' for _ in range(draw(st.integers(0, 3))))
    if draw(st.booleans()):
        head += f"<script type='application/ld+json'>{json.dumps(draw(JSON_VALUES))}</script>"
    if draw(st.booleans()):
        head += f"<link rel='canonical' href='{draw(WORDS)}'><title>{draw(WORDS)}</title>"
    return f"<html lang='{draw(WORDS)}'><head>{head}</head><body>{draw(MARKUP)}</body></html>"


@st.composite
def bodies(draw) -> bytes:
    """Response bodies: any bytes, or a page in some encoding with bytes spliced in."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2000))
    prefix = draw(st.sampled_from(["", "<!DOCTYPE html>", "\ufeff", "<meta charset='utf-16'>",
                                   "<meta http-equiv='Content-Type' content='text/html; charset=cp1258'>"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32", "cp1258", "latin-1", "shift_jis", "gb18030"]))
    data = (prefix + draw(pages())).encode(encoding, "replace")
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(max_size=30)) + data[at:]


def assert_is_a_record(result: Extraction) -> None:
    assert isinstance(result, Extraction)
    assert isinstance(result.text, str) and isinstance(result.tags, list)


@fuzz(50)
@given(body=bodies(), url=URLS, content_language=CONTENT_LANGUAGES)
def test_extraction_never_raises_on_arbitrary_bytes(body, url, content_language):
    # As the crawler hands them over: the response's text, decoded by Scrapy.
    html = HtmlResponse(url, body=body).text
    assert_is_a_record(extract_article(html, url, content_language))


@fuzz(60)
@given(html=st.text(max_size=2000), url=URLS)
def test_extraction_never_raises_on_arbitrary_text(html, url):
    assert_is_a_record(extract_article(html, url))


@fuzz(80)
@given(html=pages(), url=URLS, content_language=CONTENT_LANGUAGES)
def test_extraction_never_raises_on_html_like_text(html, url, content_language):
    assert_is_a_record(extract_article(html, url, content_language))


# Found by fuzzing ---------------------------------------------------------------------------


def test_a_page_that_is_only_an_svg_element_has_no_text():
    # lxml makes the fragment's first element the root; htmldate's date search then tried to drop it.
    result = extract_article("<svg>Nguồn: https://nhandan.vn/x-post1.html", "https://www.vietnamplus.vn/a-post1079147.vnp")
    assert result.text == ""

