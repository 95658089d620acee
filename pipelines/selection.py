"""A site's CSS selectors (``crawler/sites/<site>.toml``), run on an lxml tree."""

from __future__ import annotations

from functools import cache

import lxml.html
from cssselect import GenericTranslator

from pipelines.cleaning import normalize_space

_translator = GenericTranslator()


@cache
def _xpath(css: str) -> str:
    return _translator.css_to_xpath(css)


def select(tree: lxml.html.HtmlElement, selectors: list[str]) -> list[lxml.html.HtmlElement]:
    """Elements matched by the first selector that matches anything."""
    for css in selectors:
        found = tree.xpath(_xpath(css))
        if found:
            return found
    return []


def first_text(tree: lxml.html.HtmlElement, selectors: list[str]) -> str | None:
    """The text of the first selected element that has any."""
    for element in select(tree, selectors):
        if text := normalize_space(element.text_content()):
            return text
    return None
