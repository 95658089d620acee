"""Related-article blocks ("Same category", "Lire aussi", teaser lists), found by what they are.

A site's own selectors prune its related blocks while its markup stays as the rules know it;
when the markup drifts, or on a site we have no rules for, the blocks must still go. Two
signs, neither tied to a class or an id:

- a **heading** that names such a block, in the languages of our sites and the common ones
  ("Cùng chuyên mục", "Dans la même rubrique", "Lees ook", "Related"...), followed by the links
  it introduces;
- a **teaser run**: three or more sibling elements of one kind, each a teaser of another article
  of the same site: a headline link standing on its own line, with a thumbnail, a heading or a
  one-line summary.

Both read the whole page, so a block is found wherever the page puts it: before the body,
inside it or after it; its lines are then dropped from the extracted text. An article's own
list of links (bare links, or links inside its sentences) and its bullet points are neither:
they stay.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from pipelines.cleaning import normalize_space, squash, word_count

# The whole text of a heading, casefolded, with its closing punctuation removed. Generic words
# alone ("more", "news") are left out: they title an article's own sections too.
_RELATED_HEADING = re.compile(
    r"""^(?:
        # Vietnamese
        (?:tin\s+|bài\s+)?cùng\s+(?:chuyên\s+mục|tác\s+giả|chủ\s+đề|thẻ)|(?:có\s+thể\s+bạn|bạn\s+có\s+thể)\s+quan\s+tâm|(?:tin|bài(?:\s+viết)?)\s+liên\s+quan|xem\s+thêm|đọc\s+thêm|
        (?:tin|bài)\s+khác|tin\s+mới(?:\s+nhất)?|(?:tin\s+)?đọc\s+nhiều(?:\s+nhất)?|
        # English
        same\s+(?:category|section|topic|tag|author)|more\s+(?:from|by)\s+(?:this|the\s+same)\s+(?:author|section)|related(?:\s+(?:articles?|stories|news|posts|content|coverage|reading|links))?|
        (?:read|see)\s+(?:more|also)|also\s+read|more\s+(?:stories|news|articles|to\s+read|on\s+this(?:\s+story|\s+topic)?)|
        (?:you\s+(?:may|might)\s+also\s+(?:like|be\s+interested\s+in))|recommended(?:\s+(?:for\s+you|stories|articles))?|
        (?:latest|other|top)\s+(?:news|stories)|most\s+(?:read|popular|viewed)|further\s+reading|editor'?s\s+picks|
        # French
        dans\s+la\s+même\s+rubrique|(?:autres|d'autres|nos)\s+(?:articles|actualités|actus|infos)|
        (?:à\s+)?lire\s+(?:aussi|également|encore)|voir\s+aussi|sur\s+le\s+même\s+sujet|articles?\s+(?:liés|similaires)|
        les\s+plus\s+lus|(?:dans\s+la\s+)?même\s+catégorie|du\s+même\s+auteur|(?:à\s+)?découvrir\s+aussi|
        # Dutch
        lees\s+(?:ook|meer)|gerelateerd(?:e\s+(?:artikelen|berichten|nieuws))?|meer\s+(?:nieuws|artikelen|over\s+dit\s+onderwerp)|
        meest\s+gelezen|(?:in\s+)?dezelfde\s+(?:categorie|rubriek)|van\s+dezelfde\s+auteur|ook\s+interessant|
        # German
        mehr\s+zum\s+thema|(?:das\s+)?könnte\s+sie\s+auch\s+interessieren|weitere\s+(?:artikel|nachrichten|meldungen)|
        ähnliche\s+artikel|vom\s+selben\s+autor|auch\s+interessant|lesen\s+sie\s+(?:auch|mehr)|meistgelesen|
        # Spanish, Portuguese, Italian
        (?:noticias|artículos)\s+relacionad[oa]s|(?:te|le)\s+puede\s+interesar|(?:lee|lea)\s+también|ver\s+también|
        más\s+noticias|lo\s+más\s+leído|(?:notícias|matérias)\s+relacionadas|(?:leia|veja)\s+também|mais\s+lidas|
        leggi\s+anche|articoli\s+correlati|potrebbe\s+interessarti|(?:i\s+)?più\s+letti|
        # Nordic, Polish
        (?:les|läs)\s+(?:også|också|mer)|relatert(?:e\s+saker)?|relaterat|relaterede\s+artikler|
        czytaj\s+(?:też|także|więcej)|zobacz\s+(?:też|także)|powiązane(?:\s+artykuły)?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
HEADING_MAX_WORDS = 8
_RELATED_HEADING_START = re.compile(_RELATED_HEADING.pattern.replace(")$", r")\b", 1), re.IGNORECASE | re.VERBOSE)
# The longest heading named above has 33 characters: room for spaces and marks around it.
HEADING_MAX_CHARS = 60
_SHORT_TEXTS = lxml.etree.XPath(f"//text()[string-length(.) <= {HEADING_MAX_CHARS * 2}][normalize-space()]")
# Around a heading's words: "» Lire aussi :", "Related |".
_AROUND_HEADING = " :»›>|.…-–—•*#\t\n\r\xa0"

# A teaser's summary is a line or two (a hundred words is two lines of Vietnamese, whose
# words are syllables); after a related block's heading, that is still a teaser. Without a
# heading, a teaser run must be terser: more words beside its link is prose.
HEADED_SUMMARY_MAX_WORDS = 100
TEASER_SUMMARY_MAX_WORDS = 60
# A headline has a few words: a shorter link is a label ("Photo", "More", a tag).
HEADLINE_MIN_WORDS = 3
# Links with the characters of a headline (three words, or six Han characters), found in C.
_HEADLINE_LINKS = lxml.etree.XPath("//a[@href][string-length(normalize-space()) >= 6]")
# A summary has a few words too: fewer beside a headline is a date or a section label.
SUMMARY_MIN_WORDS = 5
TEASER_RUN_MIN = 3

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Inline elements: a link inside them is on the line of the text around them.
_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark", "q",
    "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
})
_NOT_A_PAGE = ("#", "javascript:", "mailto:", "tel:", "data:")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "net", "org"})


def related_lines(tree: lxml.html.HtmlElement, page: PageLinks, text: Iterable[str] | None = None) -> frozenset[str]:
    """The lines of text in the page's related-article blocks (squashed: letters and digits only).

    The page is left as it is: extraction then drops these lines from the text it extracts.
    Cutting the blocks from the tree instead would change what trafilatura chooses as the
    main content (on some pages it then keeps less of the article). When the extracted
    paragraphs are given (``text``), blocks named by a heading are looked for only if a line of
    the text may be one of theirs: one that opens with a heading's words, or a list item. Looking
    for headings is most of this function's time, and most pages need none.
    """
    blocks = _teaser_runs(tree, page)
    if text is None or any(_may_be_in_named_block(line) for line in text):
        blocks += [block for heading in list(_related_headings(tree)) if (block := _headed_block(heading, page))]
    return frozenset(
        line for block in blocks for top in block for element in top.iter()
        if isinstance(element.tag, str) and (line := squash(element.text_content())))


def site_link_texts(tree: lxml.html.HtmlElement, page: PageLinks) -> set[str]:
    """The texts of the page's links to other pages of its site: what a teaser list is made of.

    A table of contents (links within the page) and a list of sources (links to other sites)
    are the article's own.
    """
    return {text for a in tree.iter("a") if (target := page.target(a)) and page.on_site(target)
            and (text := normalize_space(a.text_content()))}


class PageLinks:
    """Which links of a page lead to another page, and which to another page of its own site.

    A link to this very page under another form of its URL ("www.", a trailing slash, tracking
    parameters, its canonical URL) leads nowhere else: a "Most read" box that lists the article
    itself must not make its own lead a teaser's summary.
    """

    def __init__(self, url: str | None, canonical: str | None = None) -> None:
        url = url or ""  # a page known by its markup only: every link leads elsewhere
        self.url = url
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.itself = {_page_key(_host_and_path(u)) for u in (url, canonical) if u}
        self.site = _registered_domain(parts.hostname or "")
        self._targets: dict[str, str | None] = {}  # pages repeat their links (menus, thumbnails)
        self._within: dict[lxml.html.HtmlElement, frozenset[str]] = {}

    def target(self, link: lxml.html.HtmlElement) -> str | None:
        """The page a link leads to (no fragment), or None for this page and for non-pages."""
        href = link.get("href") or ""
        if href not in self._targets:
            self._targets[href] = self._target(href.strip())
        return self._targets[href]

    def targets_within(self, element: lxml.html.HtmlElement) -> frozenset[str]:
        """Two of the pages that links inside ``element`` lead to (fewer if there are fewer): enough
        to tell whether it links to one page only. Teasers in one list share their list's answer."""
        if element not in self._within:
            found: set[str] = set()
            for link in element.iter("a"):
                if (target := self.target(link)) is not None:
                    found.add(target)
                    if len(found) == 2:
                        break
            self._within[element] = frozenset(found)
        return self._within[element]

    def _target(self, href: str) -> str | None:
        # String work, not urllib: a page has hundreds of links, and only their host and path matter.
        lowered = href[:8].lower()
        if lowered.startswith(("http://", "https://")):
            absolute = href
        elif href.startswith("//"):
            absolute = self.origin.split(":", 1)[0] + ":" + href
        elif href.startswith("/"):
            absolute = self.origin + href
        elif not href or lowered.startswith(_NOT_A_PAGE) or _SCHEME.match(href):
            return None  # a fragment of this page, a script, an address, another protocol
        else:
            absolute = urljoin(self.url, href)
        target = _host_and_path(absolute)
        return None if _page_key(target) in self.itself else target

    def on_site(self, target: str) -> bool:
        return _registered_domain(target.split("/", 1)[0].split(":", 1)[0]) == self.site


def _host_and_path(url: str) -> str:
    """"host/path?query" of an absolute http(s) URL, the host lowercased, the fragment gone."""
    rest = url.split("#", 1)[0].split("://", 1)[-1]
    cut = min((at for at in (rest.find("/"), rest.find("?")) if at >= 0), default=len(rest))
    path = rest[cut:]
    return rest[:cut].lower() + (path if path.startswith("/") else "/" + path)


def _page_key(host_and_path: str) -> str:
    """What two forms of one page's URL share: the host without "www.", the path without its last slash
    (the query goes: it holds tracking parameters more often than the page's identity)."""
    host, _, path = host_and_path.split("?", 1)[0].partition("/")
    return f"{host.removeprefix('www.')}/{path.rstrip('/')}"


@cache
def _registered_domain(host: str) -> str:
    """The name a site registered ("sggp.org.vn" for "en.sggp.org.vn"), near enough without a suffix list."""
    labels = host.lower().removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _text(element: lxml.html.HtmlElement) -> str:
    return normalize_space(element.text_content())


def _has_content(element: lxml.html.HtmlElement) -> bool:
    return bool(element.text_content().strip()) or next(element.iter("img"), None) is not None


# -- blocks named by a heading ----------------------------------------------------------------


def _may_be_in_named_block(line: str) -> bool:
    return line.startswith(("- ", "• ", "> ")) or bool(_RELATED_HEADING_START.match(line.lstrip(_AROUND_HEADING)))


def _related_headings(tree: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """Elements whose whole text names a related block; the innermost of nested ones."""
    for node in _SHORT_TEXTS(tree):  # in C: Python sees only the short texts
        words = node.strip(_AROUND_HEADING)
        if not words or len(words) > HEADING_MAX_CHARS:
            continue
        if not unicodedata.is_normalized("NFC", words):
            words = unicodedata.normalize("NFC", words)
        if not _RELATED_HEADING.match(words):
            continue
        element = node.getparent()
        if node.is_tail:  # "<h2><i class='icon'></i> Related</h2>"
            element = element.getparent()
        if element is None or not isinstance(element.tag, str):
            continue
        text = _text(element)
        if word_count(text) <= HEADING_MAX_WORDS and _RELATED_HEADING.match(text.strip(_AROUND_HEADING)):
            if _is_menu_link(element):
                continue
            yield element


def _is_menu_link(element: lxml.html.HtmlElement) -> bool:
    """A link named "Top stories" in a menu is a way to a page, not the title of a block on this one.

    A block's title may be a link too (to the section it lists), but then it is a heading.
    """
    around = [element, *element.iterancestors()][:4]
    return any(e.tag == "a" for e in around) and not any(e.tag in _HEADINGS for e in around)


def _headed_block(heading: lxml.html.HtmlElement, page: PageLinks) -> list[lxml.html.HtmlElement]:
    """The heading (or the smallest element around it holding only it) and the links it introduces.

    Walks up while an element holds nothing but the heading and links after it: that element
    is the block. Where the heading's container holds other content before it (an article body
    ending with a "Read more" list), the block is the heading and the link elements that follow.
    """
    unit = heading
    while (parent := unit.getparent()) is not None and parent.tag not in ("body", "html"):
        siblings = list(parent)
        at = siblings.index(unit)
        before = (parent.text or "").strip() or any(
            _has_content(s) or (s.tail or "").strip() for s in siblings[:at] if isinstance(s.tag, str))
        after = [s for s in siblings[at + 1:] if isinstance(s.tag, str)]
        introduced = []
        for sibling in after:
            if not _is_link_block(sibling, page):
                break
            introduced.append(sibling)
        if before or len(introduced) < len(after) or any((s.tail or "").strip() for s in [unit, *introduced]):
            # A heading alone titles an empty block only when nothing follows it.
            return [unit, *introduced] if unit is not heading or introduced or not after else []
        unit = parent  # the parent is all block: it may continue after the parent
    return []


def _is_link_block(element: lxml.html.HtmlElement, page: PageLinks) -> bool:
    """Links to other pages, each with at most a one-line summary, or nothing to read at all."""
    links = [element] if element.tag == "a" else list(element.iter("a"))
    targets = {t for t in map(page.target, links) if t}
    if not targets:
        return not _has_content(element)
    link_words = sum(word_count(a.text_content()) for a in links if page.target(a))
    other_words = word_count(element.text_content()) - link_words
    return other_words <= HEADED_SUMMARY_MAX_WORDS * len(targets) and any(_on_own_line(a, element, or_starts=True) for a in links)


def _on_own_line(link: lxml.html.HtmlElement, within: lxml.html.HtmlElement, or_starts: bool = False) -> bool:
    """Whether a link is a line of its own (``or_starts``: or the headline opening one), not words in a sentence."""
    block = link
    while block is not within and block.tag in _INLINE and (up := block.getparent()) is not None:
        block = up
    line, label = squash(block.text_content()), squash(link.text_content())
    if not label:
        return False
    return line == label or (or_starts and line.startswith(label) and word_count(link.text_content()) >= HEADLINE_MIN_WORDS)


# -- runs of teasers ---------------------------------------------------------------------------


def _teaser_runs(tree: lxml.html.HtmlElement, page: PageLinks) -> list[list[lxml.html.HtmlElement]]:
    """Runs of three or more sibling teasers of other articles of the site, with the heading just before."""
    teasers: dict[lxml.html.HtmlElement, None] = {}
    for link in _HEADLINE_LINKS(tree):
        target = page.target(link)
        if target and page.on_site(target) and word_count(link.text_content()) >= HEADLINE_MIN_WORDS:
            teaser = _teaser_of(link, target, page)
            if teaser is not None:
                teasers[teaser] = None
    runs = []
    by_parent: dict[lxml.html.HtmlElement, list[lxml.html.HtmlElement]] = {}
    for teaser in teasers:
        by_parent.setdefault(teaser.getparent(), []).append(teaser)
    for parent, members in by_parent.items():
        if len(members) < TEASER_RUN_MIN:
            continue
        run: list[lxml.html.HtmlElement] = []
        for child in [c for c in parent if isinstance(c.tag, str) and _has_content(c)] + [None]:
            if child is not None and child in teasers and (not run or child.tag == run[-1].tag):
                run.append(child)
                continue
            if len(run) >= TEASER_RUN_MIN:
                runs.append(_with_heading(run))
            run = [child] if child is not None and child in teasers else []
    return runs


def _teaser_of(link: lxml.html.HtmlElement, target: str, page: PageLinks) -> lxml.html.HtmlElement | None:
    """The largest element around a headline link that links nowhere else, if it is a teaser."""
    teaser = link
    while (parent := teaser.getparent()) is not None and parent.tag not in ("body", "html"):
        if page.targets_within(parent) - {target}:
            break
        teaser = parent
    if teaser is link or not _on_own_line(link, teaser):
        return None
    summary = word_count(teaser.text_content()) - word_count(link.text_content())
    if summary > TEASER_SUMMARY_MAX_WORDS:
        return None
    in_heading = False
    for ancestor in link.iterancestors():
        in_heading = ancestor.tag in _HEADINGS
        if in_heading or ancestor is teaser:
            break
    return teaser if summary >= SUMMARY_MIN_WORDS or in_heading or next(teaser.iter("img"), None) is not None else None


def _with_heading(run: list[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """The run, and the short heading just before it that titles it."""
    previous = run[0].getprevious()
    while previous is not None and (not isinstance(previous.tag, str) or not _has_content(previous)):
        previous = previous.getprevious()
    if previous is not None and not (run[0].getparent().text or "").strip() and _is_title(previous):
        return [previous, *run]
    return run


def _is_title(element: lxml.html.HtmlElement) -> bool:
    heading = element if element.tag in _HEADINGS else next(
        (h for h in element.iter(*_HEADINGS) if squash(h.text_content()) == squash(element.text_content())), None)
    return heading is not None and word_count(element.text_content()) <= HEADING_MAX_WORDS
