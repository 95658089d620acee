"""Related-article blocks go, whatever a site's classes: recognised by their heading in any of
our sites' languages and the common ones, or by their structure (a run of teasers). An article's
own links and lists stay."""

import pytest

from pipelines.blocks import PageLinks, related_lines, site_link_texts
from pipelines.cleaning import squash
from pipelines.extraction import extract_article

URL = "https://news.example.com/world/ministers-meet-in-hanoi-to-plan-trade-20251125.html"
BODY = [
    "Trade ministers from eleven countries met in Hanoi on Tuesday to agree on a plan for lowering tariffs "
    "on farm goods, electronics and textiles over the next five years.",
    "The plan, which still needs the approval of each country's parliament, would remove duties on more "
    "than four thousand product lines and set up a joint office to settle disputes between exporters.",
    "Officials said the talks had been difficult at times, with several delegations asking for longer "
    "transition periods for rice, sugar and steel, which employ millions of workers across the region.",
    "The ministers will meet again in Manila in March to review progress, and expect the first tariff cuts "
    "to take effect at the start of the following year if every parliament has ratified the plan by then.",
]
TEASERS = [
    ("/world/floods-hit-central-provinces-20251124.html", "Floods hit the central provinces again",
     "Thousands of families were moved to higher ground as rivers rose overnight."),
    ("/business/rice-exports-reach-record-high-20251123.html", "Rice exports reach a record high this year",
     "Shipments to Africa and the Philippines pushed sales past eight million tonnes."),
    ("/culture/hanoi-street-food-festival-opens-20251122.html", "Hanoi street food festival opens by the lake",
     "More than a hundred stalls serve dishes from every province until Sunday."),
]


def teaser(href: str, title: str, summary: str, thumbnail: bool = True) -> str:
    image = f'<a href="{href}"><img src="{href}.jpg" alt=""></a>' if thumbnail else ""
    return f'<div class="t">{image}<h3><a href="{href}">{title}</a></h3><p>{summary}</p></div>'


def teaser_run(heading: str | None = None) -> str:
    title = f"<h2>{heading}</h2>" if heading else ""
    return f'<section class="b">{title}{"".join(teaser(*t) for t in TEASERS)}</section>'


def page(*, before: str = "", inside: str = "", after: str = "", extra_body: str = "") -> str:
    paragraphs = [f"<p>{p}</p>" for p in BODY]
    body = "".join(paragraphs[:2]) + inside + "".join(paragraphs[2:]) + extra_body
    return (
        '<html lang="en"><head><title>Ministers meet in Hanoi to plan trade</title></head><body>'
        '<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>'
        f'<main><h1>Ministers meet in Hanoi to plan trade</h1>{before}<div class="c">{body}</div>{after}</main>'
        "<footer><p>Example News, 1 Main Street</p></footer></body></html>"
    )


def text_of(html: str) -> str:
    return text_of_at(html, URL)


def text_of_at(html: str, url: str) -> str:
    return extract_article(html, url).text


def assert_only_the_body(text: str) -> None:
    assert text.split("\n\n") == BODY


@pytest.mark.parametrize("heading", [
    "Cùng chuyên mục", "Tin liên quan", "Xem thêm", "Bạn có thể quan tâm", "Same category", "Related", "Read more",
    "Related news", "Dans la même rubrique", "Autres articles", "Lire aussi", "Lees ook", "Gerelateerd",
    "Mehr zum Thema", "Noticias relacionadas", "Leia também", "Leggi anche", "Läs också", "Czytaj także",
])
def test_a_block_named_by_its_heading_is_cut_in_every_language(heading):
    # Two teasers only, no thumbnails: the heading alone says what the block is.
    block = f"<div><h4>{heading}:</h4><ul>" + "".join(
        f'<li><a href="{href}">{title}</a> {summary}</li>' for href, title, summary in TEASERS[:2]) + "</ul></div>"
    assert_only_the_body(text_of(page(after=block)))


@pytest.mark.parametrize("where", ["before", "inside", "after"])
def test_a_named_block_is_cut_wherever_it_stands(where):
    assert_only_the_body(text_of(page(**{where: teaser_run("Dans la même rubrique")})))


@pytest.mark.parametrize("where", ["before", "inside", "after"])
def test_a_run_of_three_teasers_without_a_heading_is_cut_wherever_it_stands(where):
    assert_only_the_body(text_of(page(**{where: teaser_run()})))


def test_a_teaser_run_takes_its_unknown_heading_with_it():
    assert_only_the_body(text_of(page(after=teaser_run("Japan and Vietnam"))))


def test_an_inline_pointer_is_cut_with_its_link():
    href, title, _ = TEASERS[0]
    pointer = f'<p><strong>Lire aussi :</strong> <a href="{href}">{title}</a></p>'
    assert_only_the_body(text_of(page(inside=pointer)))


# -- what stays ------------------------------------------------------------------------------


def introduced_list(introduction: str, links: list[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{href}">{title}</a></li>' for href, title in links)
    return f"<p>{introduction}</p><ul>{items}</ul>"


def test_the_articles_own_list_of_links_to_other_sites_stays():
    sources = introduced_list("The plan draws on three studies published this year:", [
        ("https://www.wto.org/reports/farm-tariffs-2025.pdf", "WTO report on farm tariffs in Asia"),
        ("https://www.adb.org/publications/textile-trade", "ADB study of the textile trade"),
        ("https://unctad.org/electronics-supply-chains", "UNCTAD survey of electronics supply chains"),
    ])
    assert "- ADB study of the textile trade" in text_of(page(inside=sources)).split("\n\n")


def test_a_list_of_the_sites_own_pages_that_the_article_introduces_stays():
    documents = introduced_list("The ministry published the texts of the agreement on its site:", [
        ("/documents/tariff-schedule-2026.html", "Tariff schedule for 2026 and 2027"),
        ("/documents/dispute-office-charter.html", "Charter of the joint dispute office"),
        ("/documents/rules-of-origin.html", "Rules of origin for textile exports"),
    ])
    assert "- Charter of the joint dispute office" in text_of(page(inside=documents)).split("\n\n")


def test_bullet_points_stay():
    points = "<p>The plan has three parts:</p><ul>" + "".join(
        f"<li>{item}</li>" for item in (
            "Tariffs on farm goods fall by half within three years",
            "Duties on electronics go at once",
            "A joint office settles disputes between exporters",
        )) + "</ul>"
    paragraphs = text_of(page(extra_body=points)).split("\n\n")
    assert "- Duties on electronics go at once" in paragraphs


def test_a_table_of_contents_stays():
    contents = '<ul><li><a href="#tariffs">Tariffs on farm goods</a></li><li><a href="#office">The joint office</a></li>' \
               '<li><a href="#next">What happens next</a></li></ul>'
    html = page(before=contents)
    assert site_link_texts(html_tree(html), PageLinks(URL)).isdisjoint({"Tariffs on farm goods", "The joint office"})


def test_paragraphs_linking_to_the_sites_other_articles_stay():
    linked = [
        f'<p><a href="{href}">{title}</a>, the agency said, and the ministers discussed it at length over '
        f"dinner with the delegations of every country that sent one to the talks.</p>"
        for href, title, _ in TEASERS
    ]
    # Each starts with a headline link and is its own paragraph, but each is prose, not a teaser.
    html = page(extra_body="".join(linked))
    assert related_lines(html_tree(html), PageLinks(URL)) == frozenset()


def test_a_short_sentence_opening_with_a_heading_word_is_not_a_heading():
    sentence = "Related talks open in Jakarta next month."  # as short as a heading
    html = page(extra_body=f"<p>{sentence}</p>" + teaser_run())
    assert squash(sentence) not in related_lines(html_tree(html), PageLinks(URL))


@pytest.mark.parametrize("fetched_as", [URL + "?utm_source=rss", URL.replace("://news.", "://www.news.")])
def test_a_box_listing_the_article_itself_does_not_take_its_lead(fetched_as):
    # "Most read": the article itself (under its clean URL) and two others, each with its summary.
    listed = [(URL, "Ministers meet in Hanoi to plan trade", BODY[0]), *TEASERS[:2]]
    box = "<aside><h2>Most read</h2>" + "".join(teaser(*t) for t in listed) + "</aside>"
    assert text_of_at(page(after=box), fetched_as).split("\n\n")[0] == BODY[0]


def test_a_menu_link_named_like_a_block_does_not_take_the_menu():
    menu = '<ul class="m"><li><a href="/top">Top stories</a></li><li><a href="/world">World news</a></li>' \
           '<li><a href="/business">Business</a></li></ul>'
    html = page(before=menu)
    assert squash("World news") not in related_lines(html_tree(html), PageLinks(URL))


def html_tree(html: str):
    from trafilatura.utils import load_html

    return load_html(html)


def test_broken_and_foreign_hrefs_are_no_teasers():
    hrefs = ["http://[not-an-address/x", "javascript:void(0)", "mailto:desk@example.com", "whatsapp://send?text=x",
             "#comments", URL + "#comments", "ftp://files.example.com/report.pdf"]
    links = "".join(f'<p><a href="{href}">A link that leads nowhere new</a></p>' for href in hrefs)
    assert site_link_texts(html_tree(page(extra_body=links)), PageLinks(URL)) == {"Home", "World"}


def test_a_page_known_by_its_markup_only_still_has_its_blocks_found():
    assert squash(TEASERS[0][1]) in related_lines(html_tree(page(after=teaser_run())), PageLinks(None))
