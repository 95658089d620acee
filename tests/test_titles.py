"""The article's headline, chosen among the places a page states it."""

import json

import lxml.html

from pipelines.titles import choose_title, strip_site_name

URL = "https://www.example-news.com/world/gunma-governor-visits-hanoi-123.html"
HEADLINE = "Gunma governor visits Hanoi to deepen local cooperation"


def page(h1s=(), json_ld=None, og=None, title=None, svg_title=None) -> lxml.html.HtmlElement:
    head = f"<title>{title}</title>" if title else ""
    if og:
        head += f'<meta property="og:title" content="{og}">'
    if json_ld:
        head += f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", "headline": json_ld})}</script>'
    body = f"<svg><title>{svg_title}</title></svg>" if svg_title else ""
    body += "".join(f"<h1>{h}</h1>" for h in h1s)
    return lxml.html.fromstring(f"<html><head>{head}</head><body>{body}<p>text</p></body></html>")


def choose(tree, sitename=None):
    return choose_title(tree, fallback="trafilatura's title", sitename=sitename, url=URL)


def test_h1_confirmed_by_another_source_wins_over_other_h1s():
    tree = page(h1s=["Example News", HEADLINE, "Most read today"], og=HEADLINE, title=f"{HEADLINE} | Example News")
    assert choose(tree) == HEADLINE


def test_json_ld_headline_beats_a_lone_logo_h1():
    assert choose(page(h1s=["Example News"], json_ld=HEADLINE, og="Shorter social title")) == HEADLINE


def test_headlines_of_related_stories_in_json_ld_are_not_the_page_headline():
    related = {"@type": "ItemList", "itemListElement": [{"@type": "NewsArticle", "headline": "Related story"}]}
    tree = page(og=HEADLINE)
    script = lxml.html.fromstring(f'<script type="application/ld+json">{json.dumps(related)}</script>')
    tree.head.append(script)
    assert choose(tree) == HEADLINE


def test_html_entities_escaped_twice_in_json_ld_are_decoded():
    tree = page(h1s=["Trump’s ‘plan’"], json_ld="Trump&#8217;s &#8216;plan&#8217;")
    assert choose(tree) == "Trump’s ‘plan’"


def test_icon_titles_inside_svg_are_ignored():
    assert choose(page(title=f"{HEADLINE} - Example News", svg_title="downChevron")) == HEADLINE


def test_page_without_any_headline_falls_back_to_trafilatura():
    assert choose(page()) == "trafilatura's title"


def test_site_name_is_stripped_from_the_end_of_title():
    assert strip_site_name(f"{HEADLINE} | Example News", None, URL) == HEADLINE
    assert strip_site_name(f"{HEADLINE} – VietnamPlus", "VietnamPlus", URL) == HEADLINE
    assert strip_site_name(f"{HEADLINE}｜日刊ゲンダイDIGITAL", "日刊ゲンダイDIGITAL", URL) == HEADLINE


def test_site_name_spelt_as_the_domain_is_stripped_from_the_start_of_title():
    assert strip_site_name(f"Example News - {HEADLINE}", None, URL) == HEADLINE


def test_a_dash_inside_the_headline_is_kept():
    headline = "Vietnam - Japan: local cooperation is a bright spot"
    assert strip_site_name(headline, "Vietnam+", "https://www.vietnamplus.vn/x-post1.vnp") == headline


def test_a_short_site_name_inside_a_word_is_not_the_site():
    assert strip_site_name("Talks with Japan - Korea resume", "AP", "https://apnews.com/article/x") == (
        "Talks with Japan - Korea resume")


def test_only_the_site_part_is_cut_and_other_separators_are_kept():
    title = "Việt Nam – Nhật Bản: hợp tác địa phương – Phần 2 – VietnamPlus"
    assert strip_site_name(title, "VietnamPlus", "https://www.vietnamplus.vn/x-post1.vnp") == (
        "Việt Nam – Nhật Bản: hợp tác địa phương – Phần 2")


def test_h1_in_capitals_confirmed_by_a_title_case_og_title_is_returned_as_printed():
    assert choose(page(h1s=[HEADLINE.upper()], og=HEADLINE)) == HEADLINE.upper()


def test_h1_with_typographic_apostrophe_confirmed_by_a_plain_one_is_returned_as_printed():
    assert choose(page(h1s=["Gunma’s governor visits Hanoi"], og="Gunma's governor visits Hanoi")) == (
        "Gunma’s governor visits Hanoi")


def test_h1_with_a_kicker_glued_to_the_headline_confirms_nothing():
    tree = page(h1s=["<span>Local cooperation</span><span>Gunma governor visits Hanoi</span>"],
                json_ld="Gunma governor visits Hanoi", og="Local cooperation | Gunma governor visits Hanoi")
    assert choose(tree) == "Gunma governor visits Hanoi"


def test_h1_that_lost_the_punctuation_between_kicker_and_headline_yields_to_the_source_that_has_it():
    tree = page(h1s=["<span>Local cooperation</span> <span>Gunma governor visits Hanoi</span>"],
                og="Local cooperation: Gunma governor visits Hanoi")
    assert choose(tree) == "Local cooperation: Gunma governor visits Hanoi"


def test_a_dangling_separator_at_the_end_is_dropped_and_a_quote_dash_at_the_start_kept():
    assert choose(page(h1s=[f"{HEADLINE} |"], og=HEADLINE)) == HEADLINE
    assert choose(page(h1s=["– Angsten vil øke"], og="– Angsten vil øke")) == "– Angsten vil øke"


def test_a_decorated_social_title_does_not_replace_the_confirmed_h1():
    tree = page(h1s=[HEADLINE], json_ld=HEADLINE, og=f"🔴 {HEADLINE} !!!", title=f"“{HEADLINE}” | Example News")
    assert choose(tree) == HEADLINE


def test_a_closing_guillemet_ends_a_french_headline():
    headline = "Sophie Binet met en garde sur la « gravité de la situation »"
    assert choose(page(h1s=[headline], og=headline)) == headline
