"""What a page states about itself in JSON-LD, read defensively.

Pages embed several JSON-LD blocks: the article, breadcrumbs, the publisher, and lists
of related stories whose nodes carry headlines and bodies too. Only the page's own
article node is trusted for its headline, body and dates.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import lxml.html

# schema.org types whose node describes the page's own article.
ARTICLE_TYPES = ("Article", "BlogPosting", "Report", "LiveBlogPosting")


def _blocks(tree: lxml.html.HtmlElement) -> list[Any]:
    """Every JSON-LD block that parses; broken or hostile ones (deep nesting) are skipped."""
    blocks = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            blocks.append(json.loads(script))
        except (ValueError, RecursionError):
            continue
    return blocks


def _is_article(node: dict[str, Any]) -> bool:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.endswith(ARTICLE_TYPES) for t in types)


def _string(node: dict[str, Any], key: str) -> str | None:
    value = node.get(key)
    return value if isinstance(value, str) and value.strip() else None


class JsonLd:
    """A page's JSON-LD, parsed once: title, date and body all read it."""

    def __init__(self, blocks: list[Any]) -> None:
        self.blocks = blocks

    @classmethod
    def of(cls, tree: lxml.html.HtmlElement) -> JsonLd:
        return cls(_blocks(tree))

    def article_nodes(self) -> Iterator[dict[str, Any]]:
        """The page's article nodes: top-level objects, or members of a top-level ``@graph``.

        Articles nested inside other nodes (an ``ItemList`` of related stories) are not the page's.
        """
        for block in self.blocks:
            for top in block if isinstance(block, list) else [block]:
                if not isinstance(top, dict):
                    continue
                members = top["@graph"] if isinstance(top.get("@graph"), list) else [top]
                yield from (node for node in members if isinstance(node, dict) and _is_article(node))

    def article_value(self, key: str) -> str | None:
        """The first string ``key`` of the page's article nodes, in document order."""
        return next((v for node in self.article_nodes() if (v := _string(node, key))), None)

    def first_value(self, key: str) -> str | None:
        """The first string ``key`` anywhere in the page's JSON-LD, breadth first in document order."""
        queue: deque[Any] = deque(self.blocks)
        while queue:
            node = queue.popleft()
            if isinstance(node, dict):
                if value := _string(node, key):
                    return value
                queue.extend(node.values())
            elif isinstance(node, list):
                queue.extend(node)
        return None
