"""A generated CMS-style news site for the crawl benchmark (bench/crawl.py).

``generate(folder, articles, seed)`` writes, deterministically for a seed, a site in the markup
of the news CMSs the product crawls (crawler/sites/vietnamplus.toml: ``article__*`` blocks):

- articles of 60 to 150 KiB: a header with a mega menu, breadcrumb, title, standfirst, byline and
  time, a body of 6 to 24 paragraphs with pictures, tags, a related block, a same-section list,
  a most-read sidebar, a comment box, a footer, and the inline scripts (analytics, ad slots, page
  state) that make most of a real page's weight;
- section listings of 20 articles with next links, a Google News sitemap per 1,000 articles
  with a sitemap index, an RSS feed of the latest 50, and robots.txt naming the sitemap index.

Links are root-relative, so the site is served from any address. ``paths.txt`` lists the
articles' paths in crawl order.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

SECTIONS = {
    "thegioi": "World", "kinhte": "Economy", "xahoi": "Society", "chinhtri": "Politics", "doisong": "Life",
    "vanhoa": "Culture", "thethao": "Sport", "congnghe": "Technology", "moitruong": "Environment", "dulich": "Travel",
}
WORDS = """
the of and to in a is that for on with as by at from was were be this which are it has have had not but
an they their its or more also will can after year years government people minister country new said
two first last one three economic trade ministry cooperation development between national international
province city local officials report week month policy support growth investment market prices energy
climate water flood storm coast island region agreement meeting summit leaders president prime delegation
visit talks partnership program project infrastructure bridge road railway port airport power plant wind
solar emissions forest river delta rice farmers exports imports industry factory workers jobs wages tax
budget bank loans inflation currency rate central billion million percent increase decrease record higher
lower expected forecast quarter data survey study research university students schools teachers health
hospital doctors patients vaccine disease outbreak authorities police court law security defence military
border sea fishing vessels maritime tourism visitors hotels festival culture heritage museum music film
sport football team match season championship league players coach victory technology digital internet
companies startup platform services online users network satellite mobile phone software artificial
intelligence innovation science village community families children women elderly housing residents
rescue relief aid donors emergency damage repair reconstruction schedule plan strategy target goal
under over during before while since because however although despite further another several many
most such both each other some only very well still even about into through against among around across
""".split()
NAMES = ["Thu Hang", "Minh Duc", "Lan Anh", "Quoc Viet", "Hoang Nam", "Thanh Ha", "Bao Ngoc", "Tuan Anh",
         "Mai Phuong", "Van Long", "Claire Martin", "Pieter de Vries", "Sarah Jones", "Kenji Sato"]
MIN_SIZE, MAX_SIZE = 60 * 1024, 150 * 1024
PER_SITEMAP = 1000
PER_LISTING = 20
FIRST_ID = 1_080_000
START = datetime(2026, 11, 1, 6, 0, tzinfo=timezone(timedelta(hours=7)))


@dataclass(frozen=True)
class Article:
    number: int
    section: str
    title: str
    summary: str
    author: str
    published: datetime
    tags: tuple[str, ...]

    @property
    def path(self) -> str:
        slug = "-".join(w for w in self.title.lower().split() if w.isalnum())[:90].strip("-")
        return f"/{self.section}/{slug}-post{FIRST_ID + self.number}.html"


class Writer:
    """Deterministic text from a seed: sentences, titles, script blobs."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def words(self, low: int, high: int) -> str:
        return " ".join(self.random.choice(WORDS) for _ in range(self.random.randint(low, high)))

    def sentence(self, low: int = 8, high: int = 24) -> str:
        text = self.words(low, high)
        return text[0].upper() + text[1:] + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.random.randint(2, 5)))

    def title(self) -> str:
        return self.words(7, 14).capitalize()

    def script(self, size: int) -> str:
        """An inline script of about ``size`` characters: page state and ad slots, as CMSs print them."""
        state, length = [], 0
        while length < size:
            entry = {"id": self.random.randint(1, 10**9), "slot": f"div-gpt-ad-{self.random.randint(1, 10**6)}",
                     "sizes": [[300, 250], [728, 90]], "targeting": {"kw": self.words(3, 8).split()},
                     "title": self.words(4, 10)}
            text = json.dumps(entry)
            state.append(text)
            length += len(text) + 1
        return "window.__PAGE_STATE__ = [" + ",".join(state) + "];"


def generate(folder: Path, articles: int, base: str, seed: int = 1) -> list[str]:
    """Write the site into ``folder``, to be served at ``base``; returns the article paths.

    Pages link root-relative; sitemaps, the feed and robots.txt name absolute URLs, as their
    formats require.
    """
    writer = Writer(seed)
    stories = [_story(writer, number) for number in range(articles)]
    by_section: dict[str, list[Article]] = {}
    for story in stories:
        by_section.setdefault(story.section, []).append(story)
    for story in stories:
        page = folder / story.path.lstrip("/")
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_article_page(writer, story, stories, by_section[story.section]), encoding="utf-8")
    for section, listed in by_section.items():
        newest_first = listed[::-1]
        pages = [newest_first[i:i + PER_LISTING] for i in range(0, len(newest_first), PER_LISTING)]
        for number, page_stories in enumerate(pages, 1):
            name = "index.html" if number == 1 else f"page-{number}.html"
            (folder / section / name).write_text(
                _listing_page(section, page_stories, number, number < len(pages)), encoding="utf-8")
    _sitemaps(folder, stories, base)
    _feed(folder, stories[-50:][::-1], base)
    (folder / "robots.txt").write_text(f"User-agent: *\nDisallow: /search\n\nSitemap: {base}/sitemap.xml\n")
    paths = [story.path for story in stories]
    (folder / "paths.txt").write_text("\n".join(paths) + "\n")
    return paths


def _story(writer: Writer, number: int) -> Article:
    section = writer.random.choice(list(SECTIONS))
    published = START + timedelta(minutes=17 * number + writer.random.randint(0, 15))
    tags = tuple(writer.words(1, 2).title() for _ in range(writer.random.randint(2, 5)))
    return Article(number, section, writer.title(), writer.sentence(14, 30), writer.random.choice(NAMES), published, tags)


def _head(writer: Writer, title: str, description: str, extra: str = "") -> str:
    return f"""<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{escape(title)} | Vietnam+ (VietnamPlus)</title>
    <meta name="description" content="{escape(description)}">
    <meta property="og:site_name" content="Vietnam+ (VietnamPlus)">
    <meta property="og:locale" content="en_US">
    <link rel="stylesheet" href="/static/css/vendor.min.css?v=20261118">
    <link rel="stylesheet" href="/static/css/detail.min.css?v=20261118">
    {extra}
    <script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
    <script async src="/static/js/gpt.js"></script>
</head>"""


def _menu(writer: Writer) -> str:
    items = []
    for section, name in SECTIONS.items():
        sub = "".join(f'<li><a href="/{section}/{writer.words(1, 2).replace(" ", "-")}">{escape(writer.words(1, 3).title())}</a></li>'
                      for _ in range(6))
        items.append(f'<li class="menu__item"><a href="/{section}/">{name}</a><ul class="menu__sub">{sub}</ul></li>')
    return f"""<header class="site-header">
        <div class="header__top container"><span class="header__date">Sunday, 06/12/2026</span>
            <ul class="header__lang"><li><a href="/en/" hreflang="en">English</a></li><li><a href="/fr/" hreflang="fr">Français</a></li></ul></div>
        <div class="header__main container"><a class="header__logo" href="/"><img src="/static/logo.svg" alt="Vietnam+" width="200" height="48"></a>
            <form class="header__search" action="/search" method="get"><input type="search" name="q" placeholder="Search"><button type="submit">Search</button></form></div>
        <nav class="main-menu container"><ul class="menu"><li class="menu__item menu__item--home"><a href="/">Home</a></li>{''.join(items)}</ul></nav>
    </header>"""


def _teaser(story: Article, summary: bool = True) -> str:
    when = story.published.isoformat()
    return f"""<div class="col"><div class="story-wrap"><article class="story">
                <figure class="story__thumb"><a class="cms-link" href="{story.path}"><img class="lazyload" data-src="/images/{story.number}.webp" alt="" width="300" height="188"></a></figure>
                <h3 class="story__heading"><a class="cms-link" href="{story.path}">{escape(story.title)}</a></h3>
                <div class="story__meta"><time datetime="{when}">{story.published:%d/%m/%Y %H:%M}</time></div>
                {f'<div class="story__summary">{escape(story.summary)}</div>' if summary else ''}
            </article></div></div>"""


def _footer(writer: Writer) -> str:
    links = "".join(f'<li><a href="/{s}/">{n}</a></li>' for s, n in SECTIONS.items())
    return f"""<footer class="site-footer">
        <div class="footer__links container"><ul>{links}<li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li><li><a href="/rss">RSS</a></li></ul></div>
        <div class="footer__info container"><p class="footer__publisher">Vietnam News Agency (VNA). Editor in chief: {writer.random.choice(NAMES)}.</p>
        <p>Address: 5 Ly Thuong Kiet, Hoan Kiem, Hanoi. Telephone: (024) 39411349 - 39411348. Email: vietnamplus@vnanet.vn</p>
        <p>Licence 1374/GP-BTTTT. All rights reserved. Reproduction only with the source named.</p></div>
    </footer>"""


def _article_page(writer: Writer, story: Article, stories: list[Article], same_section: list[Article]) -> str:
    rng = writer.random
    related = rng.sample(stories, min(len(stories), rng.randint(3, 5)))
    same_zone = [s for s in same_section if s is not story][-10:]
    most_read = rng.sample(stories, min(len(stories), 10))
    paragraphs = []
    for number in range(rng.randint(6, 24)):
        if number % 7 == 2:
            paragraphs.append(f"""<table class="picture" align="center"><tbody>
                <tr><td class="pic"><img class="cms-photo lazyload" data-src="/images/{story.number}-{number}.webp" alt="{escape(story.title)} photo {number}" width="1000" height="667"></td></tr>
                <tr><td class="caption"><p>{escape(writer.sentence(6, 14))} (Photo: VNA)</p></td></tr></tbody></table>""")
        paragraphs.append(f"<p>{escape(writer.paragraph())}</p>")
    comments = "".join(f"""<li class="comment"><span class="comment__name">{rng.choice(NAMES)}</span>
                <p class="comment__text">{escape(writer.sentence(6, 30))}</p><a class="comment__reply" href="#reply">Reply</a></li>"""
                       for _ in range(rng.randint(0, 6)))
    when = story.published.isoformat()
    json_ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": story.title,
        "datePublished": when, "dateModified": when, "author": {"@type": "Person", "name": story.author},
        "publisher": {"@type": "Organization", "name": "Vietnam+ (VietnamPlus)"},
        "articleSection": SECTIONS[story.section], "keywords": ", ".join(story.tags),
    })
    extra = f"""<link rel="canonical" href="{story.path}">
    <meta property="og:type" content="article">
    <meta property="og:title" content="{escape(story.title)}">
    <meta property="og:description" content="{escape(story.summary)}">
    <meta property="article:published_time" content="{when}">
    <meta property="article:section" content="{SECTIONS[story.section]}">
    <script type="application/ld+json">{json_ld}</script>"""
    tags = "".join(f'<a href="/tag/{t.lower().replace(" ", "-")}-tag{i}.html">{escape(t)}</a>' for i, t in enumerate(story.tags))
    page = f"""<!DOCTYPE html>
<html lang="en">
{_head(writer, story.title, story.summary, extra)}
<body class="page-detail">
    {_menu(writer)}
    <main id="main-content" class="site-main container"><div class="detail-layout"><div class="main-col content-col">
        <div class="breadcrumb breadcrumb-detail"><h2><a href="/{story.section}/">{SECTIONS[story.section]}</a></h2></div>
        <div class="article" data-id="{FIRST_ID + story.number}">
            <h1 class="article__title cms-title">{escape(story.title)}</h1>
            <div class="article__meta"><span class="author cms-author">{story.author}</span>
                <time class="time" datetime="{when}">{story.published:%d/%m/%Y %H:%M}</time></div>
            <div class="article__social"><a class="item fb" href="javascript:;" rel="nofollow">Facebook</a><a class="item twitter" href="javascript:;" rel="nofollow">X</a><button type="button" class="item print">Print</button></div>
            <div class="article__sapo cms-desc"><p>{escape(story.summary)}</p></div>
            <div class="article__body cms-body" itemprop="articleBody">
                {''.join(paragraphs)}
                <p style="text-align: right;">(VNA/Vietnam+)</p>
            </div>
            <div class="article__tag"><span class="tag-label">Tags:</span>{tags}</div>
            <div class="box-related"><h3 class="box-heading"><span>Related news</span></h3><div class="box-content">
                {''.join(_teaser(s) for s in related)}</div></div>
        </div>
        <section class="box-same-zone timeline content-list"><h3 class="box-heading"><a href="/{story.section}/">Same category</a></h3>
            {''.join(_teaser(s) for s in same_zone)}</section>
        <section class="box-comment"><h3 class="box-heading">Comments</h3>
            <form class="comment__form" action="/comment" method="post"><textarea name="text" placeholder="Your comment"></textarea><input name="name" placeholder="Name"><button type="submit">Send</button></form>
            <ul class="comment__list">{comments}</ul></section>
    </div>
    <aside class="sidebar"><section class="box-most-read"><h3 class="box-heading">Most read</h3>
        {''.join(_teaser(s, summary=False) for s in most_read)}</section>
        <div class="ad-slot" id="div-gpt-ad-sidebar"></div>{{BOXES}}</aside>
    </div></main>
    {_footer(writer)}
    <script>{{SCRIPT}}</script>
</body>
</html>
"""
    # A real page's weight is a third inline script, the rest markup: boxes of teasers, ads.
    target = rng.randint(MIN_SIZE, MAX_SIZE)
    script = writer.script(int(target * rng.uniform(0.1, 0.35)))
    boxes: list[str] = []
    room = target - len(page.encode("utf-8")) - len(script)
    while room > 0:
        box = _box(writer, rng.sample(stories, min(len(stories), 8)))
        boxes.append(box)
        room -= len(box.encode("utf-8"))
    return page.replace("{BOXES}", "".join(boxes)).replace("{SCRIPT}", script)


BOX_NAMES = ("Latest news", "Editor's picks", "Video", "Multimedia", "In pictures", "Trending", "Opinion", "Business")


def _box(writer: Writer, stories: list[Article]) -> str:
    """A sidebar box of teasers with its ad slot, as CMS sidebars repeat them down the page."""
    name = writer.random.choice(BOX_NAMES)
    return f"""<section class="box-sidebar box-{name.split()[0].lower()}"><h3 class="box-heading"><a href="/{writer.random.choice(list(SECTIONS))}/">{escape(name)}</a></h3>
        <div class="box-content">{''.join(_teaser(s, summary=writer.random.random() < 0.5) for s in stories)}</div>
        <div class="ad-slot"><div class="ad-slot__inner" id="div-gpt-ad-{writer.random.randint(1, 10**6)}"><ins class="adsbygoogle" data-ad-slot="{writer.random.randint(1, 10**9)}"></ins></div></div></section>"""


def _listing_page(section: str, stories: list[Article], number: int, more: bool) -> str:
    writer = Writer(number)
    next_link = f'<a class="next" rel="next" href="/{section}/page-{number + 1}.html">Next page</a>' if more else ""
    return f"""<!DOCTYPE html>
<html lang="en">
{_head(writer, SECTIONS[section], f"Latest news: {SECTIONS[section]}")}
<body class="page-zone">
    {_menu(writer)}
    <main class="site-main container"><h1 class="zone-title">{SECTIONS[section]}</h1>
        <section class="content-list">{''.join(_teaser(s) for s in stories)}</section>
        <div class="pagination">{next_link}</div></main>
    {_footer(writer)}
</body>
</html>
"""


def _sitemaps(folder: Path, stories: list[Article], base: str) -> None:
    names = []
    for start in range(0, len(stories), PER_SITEMAP):
        name = f"sitemap-news-{start // PER_SITEMAP + 1}.xml"
        entries = "".join(f"""<url><loc>{base}{story.path}</loc><lastmod>{story.published.isoformat()}</lastmod>
<news:news><news:publication><news:name>Vietnam+</news:name><news:language>en</news:language></news:publication>
<news:publication_date>{story.published.isoformat()}</news:publication_date><news:title>{escape(story.title)}</news:title></news:news></url>
""" for story in stories[start:start + PER_SITEMAP])
        (folder / name).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + entries + "</urlset>\n", encoding="utf-8")
        names.append(name)
    index = "".join(f"<sitemap><loc>{base}/{name}</loc></sitemap>\n" for name in names)
    (folder / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + index + "</sitemapindex>\n", encoding="utf-8")


def _feed(folder: Path, stories: list[Article], base: str) -> None:
    items = "".join(f"""<item><title>{escape(s.title)}</title><link>{base}{s.path}</link>
<pubDate>{s.published:%a, %d %b %Y %H:%M:%S %z}</pubDate><description>{escape(s.summary)}</description></item>
""" for s in stories)
    (folder / "rss.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Vietnam+</title><link>{base}/</link>\n'
        + items + "</channel></rss>\n", encoding="utf-8")
