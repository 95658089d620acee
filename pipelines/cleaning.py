"""Residual boilerplate that trafilatura leaves in article text, removed paragraph by paragraph.

Each rule is a small pure function over the list of paragraphs, so that each can be
tested alone and measured on the development set (``make bench-extraction``). Rules
only ever remove whole paragraphs: they never rewrite the text a page printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.citations import is_credit_line

# Headlines repeated at the top of the body: trafilatura keeps the h1 (or a kicker) when the
# article container holds it.
HEADLINE_WINDOW = 4

# A "furniture" line is short: a real paragraph that mentions a newsletter stays.
FURNITURE_MAX_WORDS = 30

# Link lists ("- Other story", "- Another one") that slip into the body: a run this long
# of short, unpunctuated items is a teaser block, not an enumerated list of the article.
LINK_LIST_MIN_RUN = 3
LINK_LIST_MAX_WORDS = 15

_FURNITURE = re.compile(
    r"""^(?:
        (?:read|see)\s+(?:more|also)\b | related\s*:| more\s+on\s+this | click\s+here |
        xem\s+thêm | tin\s+liên\s+quan | lire\s+aussi | à\s+lire\s+aussi | voir\s+aussi |
        lees\s+ook | lees\s+meer | lesen\s+sie\s+(?:auch|mehr) | mehr\s+zum\s+thema | auch\s+interessant |
        leer\s+más | lea\s+también | ver\s+también |
        fehler\s+gefunden | (?:photo|foto|ảnh|bild|picture|image)\s*(?:credit)?\s*:\s*\S.{0,60}$ |
        ©|\(c\)\s|copyright\b | all\s+rights\s+reserved |
        share\s+(?:this|on)\b | teilen\s*: | partager\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_NEWSLETTER = re.compile(
    r"\b(newsletter|subscribe|abonnieren|abonnez|sign\s+up|inscrivez|đăng\s+ký\s+nhận)\b", re.IGNORECASE
)
_END_PUNCTUATION = re.compile(r"[.!?…:;\"'»”)]$")


def _words(paragraph: str) -> int:
    return len(paragraph.split())


def _same_words(a: str, b: str) -> bool:
    return a.casefold().split() == b.casefold().split()


def drop_headlines(paragraphs: list[str], headlines: Iterable[str]) -> list[str]:
    """The title (or another headline of the page) printed again at the top of the body."""
    headlines = [h for h in headlines if h]
    return [
        p for n, p in enumerate(paragraphs)
        if n >= HEADLINE_WINDOW or not any(_same_words(p, h) for h in headlines)
    ]


def drop_repeated(paragraphs: list[str]) -> list[str]:
    """A paragraph printed twice (captions repeated by galleries, pull quotes): keep the first."""
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        key = " ".join(paragraph.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(paragraph)
    return kept


def _is_link_item(paragraph: str) -> bool:
    return (
        paragraph.startswith(("- ", "• "))
        and _words(paragraph) <= LINK_LIST_MAX_WORDS + 1
        and not _END_PUNCTUATION.search(paragraph)
    )


def drop_link_lists(paragraphs: list[str]) -> list[str]:
    """Runs of short bullet items without sentence punctuation: teaser lists, not body."""
    kept: list[str] = []
    run: list[str] = []
    for paragraph in [*paragraphs, ""]:
        if paragraph and _is_link_item(paragraph):
            run.append(paragraph)
            continue
        if len(run) < LINK_LIST_MIN_RUN:
            kept.extend(run)
        run = []
        if paragraph:
            kept.append(paragraph)
    return kept


def is_furniture(paragraph: str) -> bool:
    """"Read more" lines, newsletter prompts, photo credits, copyright and share lines."""
    if _words(paragraph) > FURNITURE_MAX_WORDS:
        return False
    return bool(_FURNITURE.search(paragraph.lstrip("-•>» "))) or bool(_NEWSLETTER.search(paragraph))


def drop_furniture(paragraphs: list[str]) -> list[str]:
    return [p for p in paragraphs if not is_furniture(p) and not is_credit_line(p)]


def clean_paragraphs(paragraphs: list[str], headlines: Iterable[str]) -> list[str]:
    """Every rule, in the order that lets each see what the previous left."""
    paragraphs = drop_headlines(paragraphs, list(headlines))
    paragraphs = drop_furniture(paragraphs)
    paragraphs = drop_link_lists(paragraphs)
    return drop_repeated(paragraphs)
