import asyncio
import json
import os

import pytest

from archiving.layout import article_id
from crawler.items import ArticlePage
from crawler.sites import rules_for_url
from pipelines import body, language, workers
from pipelines.extraction import Extraction, extract_article
from pipelines.record import build_record, content_digest
from tests.helpers import fixture_html

VNP_ORIGINAL = "https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp"


def test_photo_caption_and_related_box_inside_the_body_are_pruned():
    result = extract_article(fixture_html(VNP_ORIGINAL), VNP_ORIGINAL)
    assert "Ảnh: Dương Giang/TTXVN" not in result.text
    assert "Tin liên quan" not in result.text


def test_changed_layout_falls_back_to_generic_extraction_and_reports_drift():
    html = fixture_html(VNP_ORIGINAL).replace("article__body", "story-content-v2")
    result = extract_article(html, VNP_ORIGINAL)
    assert result.rules_drift is True
    assert "Ngày 25/11, tại tỉnh Quảng Ninh" in result.text
    assert "© Bản quyền thuộc về VietnamPlus" not in result.text


def test_unknown_host_uses_generic_rules():
    url = "https://example.org/news/2025/11/a-long-story-about-something-123456.html"
    html = "<html lang='en'><head><title>A story</title></head><body><article><h1>A story</h1>" + "".join(
        f"<p>Paragraph {i} tells a long and detailed story about the local cooperation forum in the province.</p>"
        for i in range(6)
    ) + "</article><footer>Copyright 2025 Example News. All rights reserved.</footer></body></html>"
    result = extract_article(html, url)
    assert rules_for_url(url).name == "generic" and result.rules == "generic"
    assert result.language == "en"
    assert "Paragraph 5 tells" in result.text and "Copyright" not in result.text


def test_language_is_detected_when_the_page_does_not_declare_it():
    html = "<html><body><article>" + "".join(
        "<p>Bộ trưởng Ngoại giao Lê Hoài Trung đã tiếp ông Yamamoto Ichita, Thống đốc tỉnh Gunma, Nhật Bản.</p>"
        for _ in range(4)
    ) + "</article></body></html>"
    assert extract_article(html, "https://example.org/a-b-c-d-1").language == "vi"


def test_text_is_unicode_nfc():
    decomposed = "Vie\u0323\u0302t Nam"  # "Việt" in combining marks
    html = f"<html lang='vi'><body><article><p>{decomposed} " + "hợp tác địa phương " * 20 + "</p></article></body></html>"
    text = extract_article(html, "https://example.org/a-b-c-d-1").text
    assert "Việt Nam" in text and "\u0323" not in text


def test_article_id_is_stable_file_name_safe_and_keeps_the_news_id():
    first = article_id(VNP_ORIGINAL)
    assert first == article_id(VNP_ORIGINAL)
    assert first.startswith("quan-he-hop-tac") and "post1079147-vnp-" in first
    assert "/" not in article_id("https://a.vn/x/?q=a/b") and article_id("https://a.vn/") .startswith("index-")


def test_canonical_link_to_another_site_is_not_trusted():
    page = ArticlePage(url="https://a.vn/x-1.html", html="", canonical_url="https://spam.example/x")
    record = build_record(page, _extracted())
    assert record.canonical_url == "https://a.vn/x-1.html"


def test_record_digest_is_sha1_of_the_text():
    record = build_record(ArticlePage(url="https://a.vn/x-1.html", html=""), _extracted())
    assert record.content_digest == content_digest("Lead.\n\nBody.") and record.content_digest.startswith("sha1:")


def _extracted() -> Extraction:
    return Extraction("generic", title="T", language="vi", lead="Lead.", text="Lead.\n\nBody.")


STANDFIRST = ("Gunma's governor and Vietnam's foreign minister agreed to expand labour, farming and tourism "
              "ties between the province and Vietnamese localities.")


def _page_with_standfirst(printed: bool) -> str:
    return (
        "<html lang='en'><head><title>Gunma governor in Hanoi</title>"
        f"<meta name='description' content=\"{STANDFIRST}\"></head><body><nav><a href='/'>Home</a></nav>"
        "<h1>Gunma governor in Hanoi</h1>"
        + (f"<div class='standfirst'><strong>{STANDFIRST}</strong></div>" if printed else "")
        + "<div class='content'><article>"
        + "".join(f"<p>Paragraph {i} tells a long and detailed story about the local cooperation forum held in "
                  "the province this week.</p>" for i in range(6))
        + "</article></div><footer>Example News, 1 Main Street.</footer></body></html>"
    )


def test_printed_standfirst_that_trafilatura_misses_becomes_the_lead():
    result = extract_article(_page_with_standfirst(printed=True), "https://example.org/news/gunma-1.html")
    assert result.lead == STANDFIRST
    assert result.text.startswith(STANDFIRST + "\n\n")
    assert result.text.count(STANDFIRST) == 1


def test_description_the_page_does_not_print_is_not_added_to_the_text():
    result = extract_article(_page_with_standfirst(printed=False), "https://example.org/news/gunma-1.html")
    assert result.lead is None and STANDFIRST not in result.text


@pytest.mark.parametrize(("precise_words", "balanced_words", "page_words", "chosen"), [
    (400, 900, 2000, "precision"),  # long enough: balanced mode is not even run
    (100, 200, 1000, "balanced"),   # short, a small part of the page, and balanced finds clearly more
    (100, 120, 1000, "precision"),  # short, but balanced adds little: likely boilerplate
    (100, 900, 300, "precision"),   # short, but most of the page's words: a short article, not retried
])
def test_short_precision_text_is_retried_in_balanced_mode(monkeypatch, precise_words, balanced_words, page_words,
                                                          chosen):
    words = {"precision": precise_words, "balanced": balanced_words}
    monkeypatch.setattr(body, "trafilatura_text", lambda tree, url, mode: " ".join([mode] * words[mode]))
    page_text = "word " * page_words
    assert body.generic_body(None, "https://example.org/a", lambda: page_text).split()[0] == chosen


def test_standfirst_printed_with_inline_markup_is_found():
    html = _page_with_standfirst(printed=True).replace("<strong>Gunma's governor", "<strong><b>Gunma</b>'s governor")
    assert extract_article(html, "https://example.org/news/gunma-1.html").lead == STANDFIRST


def test_description_printed_after_the_body_is_not_a_lead():
    html = _page_with_standfirst(printed=False).replace(
        "<footer>", f"<aside class='share'>{STANDFIRST}</aside><footer>")
    assert extract_article(html, "https://example.org/news/gunma-1.html").lead is None


def _article_page(json_ld: object, paragraphs: int = 3) -> str:
    return (
        "<html lang='en'><head><title>Forum</title>"
        f"<script type='application/ld+json'>{json.dumps(json_ld) if not isinstance(json_ld, str) else json_ld}</script>"
        "</head><body><article><h1>Forum</h1>"
        + "".join(f"<p>Paragraph {i} tells a long and detailed story about the local cooperation forum held in "
                  "the province this week.</p>" for i in range(paragraphs))
        + "</article></body></html>"
    )


def test_publisher_article_body_with_inline_markup_keeps_whole_paragraphs():
    body = "".join(f"<p>Paragraph {i} tells a long and detailed story about the <b>local cooperation</b> forum "
                   f"held in the province this week, with <a href='/x'>more</a> to come.</p>" for i in range(12))
    page = _article_page({"@type": "NewsArticle", "headline": "Forum", "articleBody": body}, paragraphs=1)
    text = extract_article(page, "https://example.org/news/forum-1.html").text
    assert "Paragraph 11 tells a long and detailed story about the local cooperation forum held" in text
    assert "\n\nlocal cooperation\n\n" not in text


def test_article_body_of_a_related_story_is_never_used():
    related = {"@type": "ItemList", "itemListElement": [
        {"@type": "NewsArticle", "articleBody": "A teaser story about something else entirely. " * 30}]}
    text = extract_article(_article_page(related), "https://example.org/news/forum-1.html").text
    assert "teaser story" not in text


def test_hostile_json_ld_does_not_break_extraction():
    result = extract_article(_article_page("[" * 100_000), "https://example.org/news/forum-1.html")
    assert "Paragraph 2 tells" in result.text


def test_page_metadata_leaves_the_tree_untouched():
    # extract_article hands the parsed tree to page_metadata without copying it.
    import lxml.etree
    from trafilatura.utils import load_html

    from pipelines.metadata import page_metadata

    tree = load_html(fixture_html(VNP_ORIGINAL))
    before = lxml.etree.tostring(tree)
    assert page_metadata(tree, VNP_ORIGINAL).title
    assert lxml.etree.tostring(tree) == before


@pytest.mark.parametrize("mode", ["precision", "balanced", "recall"])
def test_trafilatura_text_leaves_the_tree_untouched(mode):
    # extract_article hands the same parsed tree to every trafilatura run, then reads it again;
    # trafilatura prunes comment blocks and infinite-scroll boxes, on its own copy.
    import lxml.etree
    from trafilatura.utils import load_html

    from pipelines.body import trafilatura_text

    page = _article_page({}, paragraphs=6).replace("</article>", (
        "</article><div id='comments'><p>A reader wrote a long comment about the forum and the province.</p></div>"
        "<div class='infinite-scroll'><p>The next article, appended below this one.</p></div>"))
    tree = load_html(page)
    before = lxml.etree.tostring(tree)
    assert "Paragraph 5" in trafilatura_text(tree, "https://example.org/news/forum-1.html", mode)
    assert lxml.etree.tostring(tree) == before


def _undated_page(byline: str = "") -> str:
    return ("<html lang='en'><head><title>Harbour</title></head><body><article><h1>Harbour</h1>"
            f"<p>{byline}</p>"
            + "".join(f"<p>Paragraph {i} tells a long and detailed story about the new harbour opened in "
                      "the province this week.</p>" for i in range(4))
            + "</article></body></html>")


def test_date_in_the_url_is_found_when_the_markup_states_none():
    result = extract_article(_undated_page(), "https://example.org/2024/03/05/harbour.html")
    assert result.published and result.published.startswith("2024-03-05")


def test_date_printed_only_in_the_text_is_found_by_the_extensive_search():
    result = extract_article(_undated_page("Published on 5 March 2024"), "https://example.org/news/harbour.html")
    assert result.published and result.published.startswith("2024-03-05")


def test_page_without_any_date_has_no_published_date():
    assert extract_article(_undated_page(), "https://example.org/news/harbour.html").published is None


@pytest.mark.parametrize("url", [VNP_ORIGINAL, "https://example.org/news/forum-1.html"])
def test_page_metadata_reads_what_trafilatura_extract_metadata_reads(url):
    # page_metadata runs trafilatura's own steps minus the date and licence: the fields it keeps agree.
    import trafilatura
    from trafilatura.utils import load_html

    from pipelines.metadata import page_metadata

    html = fixture_html(url) if url == VNP_ORIGINAL else _article_page({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": "Forum",
        "author": {"@type": "Person", "name": "Lan Anh"}, "articleSection": "World", "keywords": "forum, province"})
    tree = load_html(html)
    ours, theirs = page_metadata(tree, url), trafilatura.extract_metadata(tree, default_url=url, extensive=False)
    assert ours.title and ours.author
    for field in ("title", "author", "description", "sitename", "categories", "tags"):
        assert getattr(ours, field) == getattr(theirs, field), field


def test_article_only_in_json_ld_is_still_extracted():
    # Pages rendered by script carry the body only in JSON-LD; trafilatura's fallback reads it there.
    body = " ".join(f"Sentence {i} tells a long and detailed story about the local cooperation forum held in the "
                    "province this week." for i in range(12))
    page = _article_page({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Forum",
                          "articleBody": body}, paragraphs=0).replace("<article><h1>Forum</h1></article>", "<div id='app'></div>")
    assert "Sentence 11 tells" in extract_article(page, "https://example.org/news/forum-1.html").text


def test_article_inside_a_template_element_is_extracted():
    # Declarative shadow DOM: the article is the template's content, which trafilatura keeps.
    page = ("<html lang='en'><head><title>Forum</title></head><body><article-view><template shadowrootmode='open'>"
            "<h1>Forum</h1>" + "".join(f"<p>Paragraph {i} tells a long and detailed story about the local cooperation "
                                       "forum held in the province this week.</p>" for i in range(6))
            + "</template></article-view></body></html>")
    assert "Paragraph 5 tells" in extract_article(page, "https://example.org/news/forum-1.html").text


def test_site_name_comes_from_the_pages_own_url():
    # Fetched from a CDN host, the page names its canonical address: the site name is the canonical host's.
    from trafilatura.utils import load_html

    from pipelines.metadata import page_metadata

    page = _article_page({}).replace("<title>Forum</title>", "<title>Forum</title>"
                                     "<link rel='canonical' href='https://www.dailynews.com/news/forum-1.html'>")
    assert page_metadata(load_html(page), "https://amp.dailynews-cdn.net/forum-1.html").sitename == "dailynews.com"


_GERMAN = ("Die Bundesregierung hat am Dienstag ein neues Gesetz beschlossen, das die Mieten in den großen "
           "Städten begrenzen soll. ")
_ENGLISH = "The government approved a new law on Tuesday that is meant to cap rents in the largest cities. "


def _page_in(lang: str, sentence: str, repeat: int) -> str:
    body = "".join(f"<p>{n}: {sentence * 2}</p>" for n in range(repeat))  # distinct: repeats are dropped
    return f"<html lang='{lang}'><head><title>Mieten</title></head><body><article><h1>Mieten</h1>{body}</article></body></html>"


def test_a_long_text_overrules_the_template_default_english():
    assert extract_article(_page_in("en", _GERMAN, 4), "https://example.org/a.html").language == "de"


def test_a_short_text_does_not_overrule_the_declared_language():
    assert extract_article(_page_in("en", _GERMAN, 1), "https://example.org/a.html").language == "en"


def test_a_declaration_other_than_english_is_trusted():
    assert extract_article(_page_in("de", _ENGLISH, 4), "https://example.org/a.html").language == "de"


def test_a_page_that_declares_no_language_gets_the_detected_one():
    page = _page_in("", _GERMAN, 1).replace(" lang=''", "")
    assert extract_article(page, "https://example.org/a.html").language == "de"


def test_extraction_workers_keep_numerical_libraries_on_one_thread(monkeypatch):
    for name in workers._NATIVE_THREAD_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting stays
    workers.one_thread_per_worker()
    import os

    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "3"


def test_an_english_report_quoting_german_at_length_stays_english():
    # Three fifths German: the whole text reads as German, its English first half does not.
    page = _page_in("en", _ENGLISH, 2).replace("</article>", "".join(
        f"<p>Zitat {n}: {_GERMAN * 2}</p>" for n in range(3)) + "</article>")
    assert extract_article(page, "https://example.org/a.html").language == "en"


def test_a_detected_language_without_a_two_letter_code_is_not_recorded(monkeypatch):
    class Cantonese:
        def classify(self, text):
            return "yue", 0.99

    monkeypatch.setattr(language, "language_identifier", Cantonese)
    assert extract_article(_page_in("en", _GERMAN, 4), "https://example.org/a.html").language == "en"


def test_the_worker_pool_starts_its_workers_on_one_thread(monkeypatch):
    for name in workers._NATIVE_THREAD_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    pool = workers.WorkerPool(1)
    try:
        assert asyncio.run(pool.run(os.getenv, "OPENBLAS_NUM_THREADS")) == "1"
    finally:
        pool.shutdown()
