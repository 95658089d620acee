"""``scrapy browse``: the archive in a browser, its pages rendered by the server (no JavaScript needed).

- ``/``: the articles, 100 to a page, newest first: title, site, language, published date, story,
  and links to the replayed page and the clean text. Filters: ``site``, ``lang``, ``since``, ``until``.
- ``/story/<id>``: one story across sites and languages, its articles with their roles, drawn as
  a small inline SVG graph (originals, republications, translations, retellings, cited sources).
- ``/article/<id>``: the versions the crawls stored, and a word-level diff between two of them
  (``?a=1&b=2``; by default the last two): the edits news sites make without saying so.
- ``/text/<site>/<id>.txt``: the clean text.
- ``/replay/<timestamp>/<url>``: the page as archived, replayed by pywb (run beside it, from its own
  virtualenv, on the archive's WARCs and CDXJ indexes where they are: nothing is copied).
"""

from __future__ import annotations

import difflib
import html
import json
import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from twisted.web import resource
from twisted.web.proxy import ReverseProxyResource

from archiving.catalog import Article, Catalog, Version, version_text
from archiving.layout import TEXT_DIR

if TYPE_CHECKING:
    from twisted.web.server import Request

    from archiving.storage import ArchiveStorage

PER_PAGE = 100
REPLAY_COLLECTION = "replay"
ROLE_COLOURS = {"original": "#1b6ec2", "republication": "#2e8540", "translation": "#b35c00", "retelling": "#7a3ea1",
                "cited": "#666666"}

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}a{color:#0b57a4}form{margin:1em 0}form label{margin-right:1em}.muted{color:#666}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
.diff{white-space:pre-wrap;border:1px solid #ddd;padding:1em;background:#fafafa}
nav.pages a,nav.pages span{margin-right:.6em}
"""


def page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><header><a href="/">news-archiver</a></header><main>{body}</main></body></html>').encode()


def article_url(article: Article) -> str:
    return "/article/" + quote(article.path.split("/", 1)[1])


def replay_url(article: Article) -> str:
    return f"/{REPLAY_COLLECTION}/{article.warc_date}/{article.url}"


def text_url(article: Article) -> str:
    return "/" + quote(article.path) + ".txt"


def _arg(request: Request, name: str) -> str:
    values = request.args.get(name.encode(), [b""])
    return values[0].decode("utf-8", "replace").strip()


class Browser(resource.Resource):
    """The root resource: the front page, and the story, article, text and replay pages under it."""

    def __init__(self, storage: ArchiveStorage, replay_port: int | None, port: int | None = None) -> None:
        super().__init__()
        self.storage = storage
        # Only requests for this server by its loopback names: a page elsewhere that rebinds its own
        # name to 127.0.0.1 (DNS rebinding) gets nothing of the archive.
        self.hosts = {f"127.0.0.1:{port}".encode(), f"localhost:{port}".encode()} if port else None
        self.catalog = Catalog.load(storage)
        self.putChild(b"story", Stories(self))
        self.putChild(b"article", Articles(self))
        self.putChild(TEXT_DIR.encode(), Texts(self))
        if replay_port is not None:
            self.putChild(REPLAY_COLLECTION.encode(),
                          ReverseProxyResource("127.0.0.1", replay_port, f"/{REPLAY_COLLECTION}".encode()))

    def getChildWithDefault(self, path: bytes, request: Request) -> resource.Resource:  # noqa: N802 - Twisted's name
        if self.hosts is not None and (request.getHeader(b"host") or b"").lower() not in self.hosts:
            return resource.ForbiddenResource("Only http://127.0.0.1 and http://localhost, on this port")
        return super().getChildWithDefault(path, request)

    def getChild(self, path: bytes, request: Request) -> resource.Resource:  # noqa: N802
        if path == b"":
            return self
        return resource.NoResource()

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        site, language = _arg(request, "site"), _arg(request, "lang")
        since, until = _arg(request, "since"), _arg(request, "until")
        chosen = self.catalog.select(site, language, since, until)
        pages = max(1, math.ceil(len(chosen) / PER_PAGE))
        number = min(max(1, int(_arg(request, "page") or 1) if _arg(request, "page").isdigit() else 1), pages)
        shown = chosen[(number - 1) * PER_PAGE: number * PER_PAGE]
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        rows = "".join(self._row(a) for a in shown)
        filters = {"site": site, "lang": language, "since": since, "until": until}
        body = (f"<h1>Archived articles</h1><p class=muted>{len(chosen)} of {len(self.catalog.articles)} articles, "
                f"{len(self.catalog.stories)} stories</p>{self._form(filters)}"
                f"<table><thead><tr><th>Title</th><th>Site</th><th>Language</th><th>Published</th><th>Story</th>"
                f"<th>Archived</th></tr></thead><tbody>{rows}</tbody></table>{self._pages(filters, number, pages)}")
        return page("Archived articles", body)

    def _row(self, a: Article) -> str:
        story = (f'<a href="/story/{quote(a.story_id)}">{html.escape(a.story_id[:12])}</a>' if a.story_id else "")
        return (f'<tr><td><a href="{html.escape(article_url(a))}">{html.escape(a.title)}</a></td>'
                f"<td>{html.escape(a.site)}</td><td>{html.escape(a.language)}</td><td>{html.escape(a.published[:16])}</td>"
                f'<td>{story}</td><td><a href="{html.escape(replay_url(a))}">page</a> · '
                f'<a href="{html.escape(text_url(a))}">text</a></td></tr>')

    def _form(self, filters: dict[str, str]) -> str:
        def options(name: str, values: list[str], label: str) -> str:
            chosen = filters[name]
            items = "".join(f'<option value="{html.escape(v)}"{" selected" if v == chosen else ""}>{html.escape(v)}</option>'
                            for v in values)
            return f'<label>{label} <select name="{name}"><option value="">all</option>{items}</select></label>'

        return (f'<form method="get">{options("site", self.catalog.sites(), "Site")}'
                f'{options("lang", self.catalog.languages(), "Language")}'
                f'<label>Published from <input type="date" name="since" value="{html.escape(filters["since"])}"></label>'
                f'<label>to <input type="date" name="until" value="{html.escape(filters["until"])}"></label>'
                f'<button type="submit">Filter</button></form>')

    @staticmethod
    def _pages(filters: dict[str, str], number: int, pages: int) -> str:
        if pages == 1:
            return ""
        links = []
        for n in range(1, pages + 1):
            query = urlencode({**{k: v for k, v in filters.items() if v}, "page": n})
            links.append(f"<span>{n}</span>" if n == number else f'<a href="/?{html.escape(query)}">{n}</a>')
        return f'<nav class="pages">Page {" ".join(links)}</nav>'


class Stories(resource.Resource):
    def __init__(self, browser: Browser) -> None:
        super().__init__()
        self.browser = browser

    def getChild(self, path: bytes, request: Request) -> resource.Resource:  # noqa: N802
        story = self.browser.catalog.stories.get(unquote(path.decode("utf-8", "replace")))
        if story is None:
            return resource.NoResource("No such story")
        return StoryPage(self.browser, story)


class StoryPage(resource.Resource):
    isLeaf = True

    def __init__(self, browser: Browser, story: dict[str, Any]) -> None:
        super().__init__()
        self.browser, self.story = browser, story

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        members = self.story.get("articles", [])
        catalog = self.browser.catalog
        by_url = {a.canonical_url: a for a in catalog.articles}
        rows = []
        for member in members:
            article = by_url.get(member.get("canonical_url"))
            title = html.escape(member.get("title") or member.get("url", ""))
            link = f'<a href="{html.escape(article_url(article))}">{title}</a>' if article else title
            replay = f' · <a href="{html.escape(replay_url(article))}">page</a>' if article else ""
            rows.append(f"<tr><td>{link}{replay}</td><td>{html.escape(member.get('site', ''))}</td>"
                        f"<td>{html.escape(member.get('language') or '')}</td><td>{html.escape(member.get('role', ''))}</td>"
                        f"<td>{html.escape((member.get('published') or '')[:16])}</td></tr>")
        graph = story_graph(members, self._cites(members))
        body = (f"<h1>Story {html.escape(self.story['story_id'])}</h1>"
                f"<p class=muted>{_count(len(members), 'article')} on {_count(len({m.get('site') for m in members}), 'site')}, "
                f"in {_count(len({m.get('language') for m in members}), 'language')}</p>{graph}"
                f"<table><thead><tr><th>Article</th><th>Site</th><th>Language</th><th>Role</th><th>Published</th></tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table>")
        return page(f"Story {self.story['story_id']}", body)

    def _cites(self, members: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """(citing, cited) canonical URLs among the story's articles, from their records' ``cites``."""
        by_url = {a.canonical_url: a for a in self.browser.catalog.articles}
        urls = {m.get("canonical_url") for m in members} | {m.get("url") for m in members}
        pairs = []
        for member in members:
            article = by_url.get(member.get("canonical_url"))
            data = self.browser.storage.read(article.path + ".json") if article else None
            for cited in json.loads(data).get("cites", []) if data else []:
                if cited in urls and cited != member.get("canonical_url"):
                    target = next((m.get("canonical_url") for m in members if cited in (m.get("url"), m.get("canonical_url"))),
                                  cited)
                    pairs.append((member.get("canonical_url"), target))
        return pairs


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def story_graph(members: list[dict[str, Any]], cites: list[tuple[str, str]]) -> str:
    """Inline SVG: originals on the left, the others on the right, an arrow from each original to
    each republication, translation or retelling, a dashed arrow from a page to a page it cites."""
    if not members:
        return ""
    originals = [m for m in members if m.get("role") == "original"] or members[:1]
    others = [m for m in members if m not in originals]
    row, width = 54, 760
    height = max(len(originals), len(others), 1) * row + 20
    place: dict[str, tuple[float, float]] = {}
    for column, group in ((190, originals), (580, others)):
        top = (height - len(group) * row) / 2
        for i, member in enumerate(group):
            place[member.get("canonical_url")] = (column, top + i * row + row / 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="story graph" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" style="max-width:100%;height:auto">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>']
    for original in originals:
        x1, y1 = place[original.get("canonical_url")]
        for other in others:
            x2, y2 = place[other.get("canonical_url")]
            colour = ROLE_COLOURS.get(other.get("role", ""), "#888")
            parts.append(f'<line x1="{x1 + 110}" y1="{y1}" x2="{x2 - 112}" y2="{y2}" stroke="{colour}" stroke-width="1.5" '
                         f'marker-end="url(#arrow)"><title>{html.escape(other.get("role", ""))}</title></line>')
    for citing, cited in cites:
        if citing in place and cited in place:
            (x1, y1), (x2, y2) = place[citing], place[cited]
            if abs(x1 - x2) < 1:  # the same column: a curve out on the left
                (sx, ex), control = (x1 - 110, x2 - 110), (x1 - 150, (y1 + y2) / 2)
            else:  # from the citing box's inner edge to the cited box's, arched above
                sx, ex = (x1 - 110, x2 + 110) if x2 < x1 else (x1 + 110, x2 - 110)
                control = ((sx + ex) / 2, min(y1, y2) - 30)
            parts.append(f'<path d="M{sx},{y1} Q{control[0]},{control[1]} {ex},{y2}" fill="none" '
                         f'stroke="{ROLE_COLOURS["cited"]}" stroke-dasharray="4 3" marker-end="url(#arrow)">'
                         f'<title>cites</title></path>')
    for member in members:
        x, y = place[member.get("canonical_url")]
        colour = ROLE_COLOURS.get(member.get("role", ""), "#888")
        label = f"{member.get('site', '')} · {member.get('language') or '?'}"
        parts.append(f'<g><rect x="{x - 110}" y="{y - 18}" width="220" height="36" rx="6" fill="#fff" stroke="{colour}" '
                     f'stroke-width="2"/><text x="{x}" y="{y - 2}" text-anchor="middle" font-size="12">{html.escape(label)}'
                     f'</text><text x="{x}" y="{y + 12}" text-anchor="middle" font-size="11" fill="{colour}">'
                     f'{html.escape(member.get("role", ""))}</text><title>{html.escape(member.get("title") or "")}</title></g>')
    parts.append("</svg>")
    return "".join(parts)


class Articles(resource.Resource):
    """``/article/<site>/<id>``."""

    isLeaf = True

    def __init__(self, browser: Browser) -> None:
        super().__init__()
        self.browser = browser

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        path = "/".join([TEXT_DIR, *(unquote(p.decode("utf-8", "replace")) for p in request.postpath)])
        article = self.browser.catalog.article(path)
        if article is None:
            return resource.NoResource("No such article").render(request)
        return ArticlePage(self.browser, article).render_GET(request)


class ArticlePage(resource.Resource):
    isLeaf = True

    def __init__(self, browser: Browser, article: Article) -> None:
        super().__init__()
        self.browser, self.article = browser, article

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        a = self.article
        versions = self.browser.catalog.versions.get(a.path, [])
        items = "".join(f"<li>version {v.version}, fetched {html.escape(v.fetched_at)} by crawl {html.escape(v.crawl_id)}</li>"
                        for v in versions)
        body = (f"<h1>{html.escape(a.title)}</h1><p>{html.escape(a.site)} · {html.escape(a.language)} · published "
                f"{html.escape(a.published or 'unknown')} · <a href=\"{html.escape(replay_url(a))}\">archived page</a> · "
                f"<a href=\"{html.escape(text_url(a))}\">clean text</a> · <a href=\"{html.escape(a.url)}\">live page</a>"
                + (f' · story <a href="/story/{quote(a.story_id)}">{html.escape(a.story_id[:12])}</a>' if a.story_id else "")
                + f"</p><h2>Versions</h2><ol>{items or '<li>no crawl feed lists it</li>'}</ol>")
        if len(versions) >= 2:
            body += self._diff(request, versions)
        return page(a.title, body)

    def _diff(self, request: Request, versions: list[Version]) -> str:
        numbers = {v.version: v for v in versions}
        try:
            old, new = numbers[int(_arg(request, "a") or versions[-2].version)], numbers[int(_arg(request, "b") or versions[-1].version)]
        except (KeyError, ValueError):
            old, new = versions[-2], versions[-1]
        storage = self.browser.storage
        form = (f'<form method="get"><label>from <select name="a">{_options(versions, old.version)}</select></label>'
                f'<label>to <select name="b">{_options(versions, new.version)}</select></label><button>Compare</button></form>')
        return (f"<h2>What changed from version {old.version} to version {new.version}</h2>{form}"
                f'<div class="diff">{word_diff(version_text(storage, old), version_text(storage, new))}</div>')


def _options(versions: list[Version], chosen: int) -> str:
    return "".join(f'<option value="{v.version}"{" selected" if v.version == chosen else ""}>version {v.version}</option>'
                   for v in versions)


def word_diff(old: str, new: str) -> str:
    """HTML of ``new`` with the words ``old`` had and it lacks in ``<del>``, its own new words in ``<ins>``."""
    a, b = re.findall(r"\s+|\S+", old), re.findall(r"\s+|\S+", new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
        if op == "equal":
            out.append(html.escape("".join(a[i1:i2])))
    return "".join(out)


class Texts(resource.Resource):
    def __init__(self, browser: Browser) -> None:
        super().__init__()
        self.browser = browser

    def getChild(self, path: bytes, request: Request) -> resource.Resource:  # noqa: N802
        return TextFile(self.browser, request.postpath, path)


class TextFile(resource.Resource):
    isLeaf = True

    def __init__(self, browser: Browser, rest: list[bytes], first: bytes) -> None:
        super().__init__()
        self.browser = browser
        self.parts = [first, *rest]

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        parts = [unquote(p.decode("utf-8", "replace")) for p in self.parts]
        # Two plain names (a site, an article file), never a way out of text/: "%2F" unquotes to "/".
        if len(parts) != 2 or not parts[1].endswith(".txt") or any(p in ("", ".", "..") or "/" in p or "\\" in p
                                                                   for p in parts):
            request.setResponseCode(404)
            return b"Not found"
        data = self.browser.storage.read(f"{TEXT_DIR}/{parts[0]}/{parts[1]}")
        if data is None:
            request.setResponseCode(404)
            return b"Not found"
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return data
