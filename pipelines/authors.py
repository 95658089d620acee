"""The article's authors: the people who wrote it, their names as the page prints them.

trafilatura finds the author in meta tags, JSON-LD and bylines. Its list often names the
publication too ("El Espectador; Felipe Morales Sierra", "Rob Picheta; CNN"), keeps a byline's
label ("Par Attac France", "责任编辑：孔德明"), and drops the dots of initials ("Perry Bacon Jr").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import lxml.html

from pipelines.cleaning import normalize_space, words
from pipelines.jsonld import JsonLd

# Byline labels before a name. With a colon ("Autor: Smith") always; as a bare word ("Von Nina
# Magoley", "Par Attac France") only when two words of the name remain, and never before a
# particle, so that "Par Nilsson", "Von Hippel" and "Von der Leyen" keep their names.
_LABEL_WITH_COLON = re.compile(
    r"^(?:by|von|par|por|door|auteur|autor|autorin|text|texte|redaktion|tác\s+giả|责任编辑|作者)\s*[:：]\s*",
    re.IGNORECASE,
)
_LABEL_WORD = re.compile(
    r"^(?:(?:by|vom|door|auteur|autor|autorin|interview)\s+|"
    r"(?:von|par|por|av|af)\s+(?!(?:der|den|dem|de|del|la|le|van|von)\b)(?=\S+\s+\S))",
    re.IGNORECASE,
)
_QUOTES = "'\"“”‘’«» "
# Words that, around the publication's name, make it the newsroom or the company rather than a
# person: "Redacción Trome", "Frankfurter Allgemeine Zeitung GmbH".
_NEWSROOM = {"redacción", "redaccion", "redaktion", "redação", "rédaction", "newsroom", "staff", "desk",
             "noticias", "news", "team", "agencies", "online", "digital", "the", "com", "developer",
             "gmbh", "ag", "ltd", "inc", "llc", "sa", "verlag", "media", "group"}
# Name parts that are printed with a dot: initials, "Jr.", "Sr.", "Dr.".
_DOTTED = re.compile(r"^(?:\w|jr|sr|dr|st)$", re.IGNORECASE)


def publisher_names(json_ld: JsonLd, *names: str | None) -> set[tuple[str, ...]]:
    """The publication's names, as words: site name, domain, JSON-LD publisher."""
    found = set(names)
    for node in json_ld.article_nodes():
        publisher = node.get("publisher")
        for entry in publisher if isinstance(publisher, list) else [publisher]:
            name = entry.get("name") if isinstance(entry, dict) else entry
            if isinstance(name, str):
                found.add(name)
    return {spelt for spelt in map(words, filter(None, found)) if spelt}


def clean_authors(author: str | None, publishers: Iterable[tuple[str, ...]], printed: Callable[[], str]) -> str | None:
    """``author`` ("A; B") without labels and the publication; initials as the ``printed`` text has them."""
    names = [_strip_label(normalize_space(a)).strip(_QUOTES) for a in (author or "").split(";")]
    names = [name for name in names if name]
    publishers = set(publishers)
    people = [name for name in names if not _is_publisher(words(name), publishers)]
    names = [_as_printed(name, printed) for name in people or names]
    return "; ".join(dict.fromkeys(names)) or None


def _strip_label(name: str) -> str:
    return _LABEL_WORD.sub("", _LABEL_WITH_COLON.sub("", name))


def _is_publisher(name: tuple[str, ...], publishers: set[tuple[str, ...]]) -> bool:
    """The publication itself, or its newsroom: "NOTICIAS TROME", "Redacción Trome"."""
    for publisher in publishers:
        if name == publisher:
            return True
        rest = name[len(publisher):] if name[: len(publisher)] == publisher else (
            name[: -len(publisher)] if name[-len(publisher):] == publisher else None)
        if rest and all(word in _NEWSROOM for word in rest):
            return True
    return False


def _as_printed(name: str, printed: Callable[[], str]) -> str:
    """The page's own spelling of a name whose initials lost their dots ("Perry Bacon Jr" -> "Jr.").

    Only the visible text counts (not links or attributes), parts stay apart (a dot or a space
    between them), and the match may differ from ``name`` only by dots and case.
    """
    parts = name.split()
    if not any(_DOTTED.match(part) for part in parts):
        return name
    pattern = r"(?:\.\s*|\s+)".join(re.escape(part) for part in parts)
    # A final initial keeps its dot even when the next element's text runs on ("Joe S.At Appen").
    pattern += r"(?:\.|(?!\w))" if _DOTTED.match(parts[-1]) else r"(?!\w)"
    found = re.search(rf"(?<!\w){pattern}", printed(), re.IGNORECASE)
    if found is None or words(found[0]) != words(name):
        return name
    return normalize_space(found[0])


def printed_names(tree: lxml.html.HtmlElement, visible_text: str) -> str:
    """Where a page spells its authors' names: its text, meta tags and JSON-LD (not links or classes)."""
    return "\n".join([visible_text, *tree.xpath("//meta/@content"),
                      *tree.xpath('//script[@type="application/ld+json"]/text()')])
