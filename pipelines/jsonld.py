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


# Title, date and body all read the same page's JSON-LD: parse it once per tree.
_last: tuple[lxml.html.HtmlElement | None, list[Any]] = (None, [])


def json_ld_blocks(tree: lxml.html.HtmlElement) -> list[Any]:
    """Every JSON-LD block that parses; broken or hostile ones (deep nesting) are skipped."""
    global _last
    if _last[0] is tree:
        return _last[1]
    blocks = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            blocks.append(json.loads(script))
        except (ValueError, RecursionError):
            continue
    _last = (tree, blocks)
    return blocks


def _is_article(node: dict[str, Any]) -> bool:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.endswith(ARTICLE_TYPES) for t in types)


def article_nodes(tree: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    """The page's article nodes: top-level objects, or members of a top-level ``@graph``.

    Articles nested inside other nodes (an ``ItemList`` of related stories) are not the page's.
    """
    for block in json_ld_blocks(tree):
        tops = block if isinstance(block, list) else [block]
        for top in tops:
            if not isinstance(top, dict):
                continue
            members = top.get("@graph") if isinstance(top.get("@graph"), list) else [top]
            yield from (node for node in members if isinstance(node, dict) and _is_article(node))


def article_value(tree: lxml.html.HtmlElement, key: str) -> str | None:
    """The first string ``key`` of the page's article nodes, in document order."""
    for node in article_nodes(tree):
        if isinstance(node.get(key), str) and node[key].strip():
            return node[key]
    return None


def first_value(tree: lxml.html.HtmlElement, key: str) -> str | None:
    """The first string ``key`` anywhere in the page's JSON-LD, breadth first in document order."""
    for block in json_ld_blocks(tree):
        queue: deque[Any] = deque([block])
        while queue:
            node = queue.popleft()
            if isinstance(node, dict):
                if isinstance(node.get(key), str) and node[key].strip():
                    return node[key]
                queue.extend(node.values())
            elif isinstance(node, list):
                queue.extend(node)
    return None
