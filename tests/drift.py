"""Drift variants: a fixture page as its site might serve it after a redesign.

Site rules find a page's parts by class (``crawler/sites/<site>.toml``). A redesign renames
those classes (hashed CSS-module names), wraps containers in new ``<div>``s and moves the
related-article blocks about. The rules then match nothing, extraction falls back to the
generic path (``extraction/rules_drift/<site>``), and that path must still give the article's
text without the teasers (issue #14). Each function below makes one such change; together they
make the variants of ``VARIANTS``. Everything is deterministic (the same page gives the same
bytes), so a failing variant can be written out, read and reproduced.

Blocks and body are found on the ORIGINAL page, by the site's selectors (``[links]`` related,
same_category, same_tag; ``[selectors] body``) and by the headings related blocks carry;
classes and ids are renamed last.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from crawler.sites import SiteRules, rules_for_url

VARIANTS = ("renamed", "wrapped", "related_before", "related_inside", "related_after")

# Headings of related-article blocks, as our sites (and the common CMSs) print them.
RELATED_HEADINGS = frozenset({
    "tin liên quan", "cùng chuyên mục", "xem thêm", "bạn có thể quan tâm", "tin khác",
    "autres actualités", "dans la même rubrique", "lire aussi", "autres articles",
    "related news", "related", "read more", "same category", "same tag", "same author",
    "in dezelfde categorie", "van dezelfde auteur", "lees ook", "gerelateerd",
})
HEADING_TAGS = ("h2", "h3", "h4")
INLINE_TAGS = frozenset({"a", "span", "b", "strong", "i", "em", "time", "small", "br", "img"})
WRAPPER_DEPTH = 2


def renamed(name: str) -> str:
    """A class or id as a build tool would hash it: stable, and matching no site selector."""
    return "x" + hashlib.sha1(name.encode()).hexdigest()[:8]


def renamed_selector(css: str) -> str:
    """The site selector ``css`` as it would read on a renamed page (tags unchanged)."""
    return re.sub(r"([.#])([-\w]+)", lambda m: m[1] + renamed(m[2]), css)


def renamed_rules(rules: SiteRules) -> SiteRules:
    """``rules`` with every class and id renamed: the selectors that would find a variant's parts."""
    selectors = rules.selectors.model_copy(update={"body": [renamed_selector(c) for c in rules.selectors.body]})
    links = {relation: [renamed_selector(c) for c in csss] for relation, csss in rules.links.items()}
    return rules.model_copy(update={"selectors": selectors, "links": links})


def body_container(tree: HtmlElement, rules: SiteRules) -> HtmlElement:
    """The article body, by the first body selector of the site that matches."""
    for css in rules.selectors.body:
        if found := tree.cssselect(css):
            return found[0]
    raise ValueError(f"no body selector of {rules.name} matches the page")


def related_blocks(tree: HtmlElement, rules: SiteRules) -> list[HtmlElement]:
    """Related, same-category and same-tag blocks, in page order, none inside another.

    Found by the site's ``[links]`` selectors, and by a heading in ``RELATED_HEADINGS``
    (its parent is the block), never the body container or one of its ancestors.
    """
    body = body_container(tree, rules)
    found = [e for csss in rules.links.values() for css in csss for e in tree.cssselect(css)]
    for heading in tree.iter(*HEADING_TAGS):
        block = heading.getparent()
        is_related = normalized(heading.text_content()).lower() in RELATED_HEADINGS
        if is_related and block is not None and block is not body and body not in block.iterdescendants():
            found.append(block)
    unique = list(dict.fromkeys(found))
    outermost = [b for b in unique if not any(a in unique for a in b.iterancestors())]
    order = {e: i for i, e in enumerate(tree.iter())}
    return sorted(outermost, key=order.__getitem__)


def rename_classes_and_ids(tree: HtmlElement) -> None:
    """Every class and id hashed, as a redesign with a new build would ship them."""
    for element in tree.iter(etree.Element):
        if classes := element.get("class", "").split():
            element.set("class", " ".join(renamed(c) for c in classes))
        if element.get("id"):
            element.set("id", renamed(element.get("id")))


def wrap(element: HtmlElement, label: str, depth: int = WRAPPER_DEPTH) -> HtmlElement:
    """``element`` inside ``depth`` new nested ``<div>``s at its place; the outermost is returned."""
    for level in range(depth):
        wrapper = lxml.html.Element("div", {"class": f"{label}-wrap-{level}"})
        element.addprevious(wrapper)
        wrapper.tail, element.tail = element.tail, None
        wrapper.append(element)
        element = wrapper
    return element


def detach(element: HtmlElement) -> HtmlElement:
    """``element`` out of the tree (if in it), its tail text left where it was."""
    previous, parent = element.getprevious(), element.getparent()
    if parent is None:
        return element
    if element.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    element.tail = None
    parent.remove(element)
    return element


def move_before(blocks: list[HtmlElement], anchor: HtmlElement) -> None:
    """The blocks, in their order, just before ``anchor``."""
    for block in blocks:
        anchor.addprevious(detach(block))


def move_after(blocks: list[HtmlElement], anchor: HtmlElement) -> None:
    """The blocks, in their order, just after ``anchor``."""
    for block in reversed(blocks):
        anchor.addnext(detach(block))


def move_inside(blocks: list[HtmlElement], body: HtmlElement) -> None:
    """The blocks, in their order, in the middle of the body: between two of its paragraphs."""
    for block in blocks:
        detach(block)  # first: a block among the paragraphs (inline links) is not one of them
    paragraphs = [child for child in body if child.tag == "p" and normalized(child.text_content())]
    if len(paragraphs) < 2:
        raise ValueError("the body has fewer than two paragraphs to put blocks between")
    move_after(blocks, paragraphs[len(paragraphs) // 2 - 1])


def wrap_body_and_blocks(body: HtmlElement, blocks: list[HtmlElement]) -> None:
    """New ``<div>``s around the body and around each related block."""
    wrap(body, "body")
    for block in blocks:
        wrap(block, "related")


MOVES: dict[str, Callable[[HtmlElement, list[HtmlElement]], None]] = {
    "renamed": lambda body, blocks: None,
    "wrapped": wrap_body_and_blocks,
    "related_before": lambda body, blocks: move_before(blocks, body),
    "related_inside": lambda body, blocks: move_inside(blocks, body),
    "related_after": lambda body, blocks: move_after(blocks, body),
}


def make_variant(html: str, url: str, variant: str) -> str:
    """The page ``html`` of ``url`` changed as ``variant`` says (one of ``VARIANTS``)."""
    rules = rules_for_url(url)
    tree = lxml.html.document_fromstring(html)
    body = body_container(tree, rules)
    MOVES[variant](body, related_blocks(tree, rules))
    rename_classes_and_ids(tree)
    return lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>")


def variant_url(url: str, number: int) -> str:
    """A URL of the same site for variant ``number`` of the page at ``url``: ``-drift<n>`` before
    the article id and ``<n>`` appended to it (its own URL key, still an article URL of the site)."""
    rules = rules_for_url(url)
    parts = urlsplit(url)
    match = re.search(rules.article_id, parts.path) if rules.article_id else None
    if match is None:
        path = f"{parts.path.rstrip('/')}-drift-{number}"
    else:
        start, id_end = match.start(), match.end(1)
        path = f"{parts.path[:start]}-drift{number}{parts.path[start:id_end]}{number:02d}{parts.path[id_end:]}"
    moved = urlunsplit(parts._replace(path=path))
    if not rules.is_article(moved):
        raise ValueError(f"{moved} is no article URL of {rules.name}")
    return moved


def teaser_lines(html: str, url: str) -> list[str]:
    """What the page's related blocks print, one line per text block: headings, teaser titles,
    kickers, summaries, dates. None of it belongs in the article's text."""
    tree = lxml.html.document_fromstring(html)
    lines = []
    for block in related_blocks(tree, rules_for_url(url)):
        for element in block.iter(etree.Element):
            parent = element.getparent()
            outermost = _is_text_block(element) and not (parent is not None and _is_text_block(parent))
            if outermost and (line := normalized(element.text_content())):
                lines.append(line)
    return list(dict.fromkeys(lines))


def _is_text_block(element: HtmlElement) -> bool:
    return all(child.tag in INLINE_TAGS for child in element.iterchildren(etree.Element))


def normalized(text: str) -> str:
    return " ".join(text.split())
