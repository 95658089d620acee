"""The article's authors: the people who wrote it, their names as the page prints them.

trafilatura finds the author in meta tags, JSON-LD and bylines. Its list often names the
publication too ("El Espectador; Felipe Morales Sierra", "Rob Picheta; CNN"), keeps a byline's
label ("Par Attac France", "责任编辑：孔德明"), and drops the dots of initials ("Perry Bacon Jr").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipelines.cleaning import normalize_space, squash
from pipelines.jsonld import JsonLd

# Byline labels before a name: "By", "Von", "Par", "Autor:", "Interview", "责任编辑：".
_LABEL = re.compile(
    r"^(?:(?:by|von|vom|par|por|door|av|af|auteur|autor|autorin|interview|text|texte|redaktion|"
    r"tác\s+giả)(?:\s*[:：]\s*|\s+)|责任编辑\s*[:：]\s*|作者\s*[:：]\s*)",
    re.IGNORECASE,
)
_QUOTES = "'\"“”‘’«» "
# A publication's name this long found inside an author's ("Redacción Trome") is the newsroom;
# shorter ones ("ap", "el") hide inside people's names.
PUBLISHER_MIN_CHARS = 4
# Name parts that are printed with a dot: initials, "Jr.", "Sr.", "Dr.".
_DOTTED = re.compile(r"^(?:\w|jr|sr|dr|st)$", re.IGNORECASE)


def publisher_names(json_ld: JsonLd, *names: str | None) -> set[str]:
    """The publication's names, compared on letters and digits: site name, JSON-LD publisher."""
    found = set(names)
    for node in json_ld.article_nodes():
        publisher = node.get("publisher")
        for entry in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                found.add(entry["name"])
    return {squash(name) for name in found if name and squash(name)}


def clean_authors(author: str | None, publishers: Iterable[str], page: str) -> str | None:
    """``author`` ("A; B") without labels and without the publication, names as ``page`` prints them."""
    names = [_LABEL.sub("", name).strip(_QUOTES) for name in (normalize_space(a) for a in (author or "").split(";"))]
    names = [name for name in names if name]
    publishers = set(publishers)
    people = [name for name in names if not _names_publisher(squash(name), publishers)]
    names = [_as_printed(name, page) for name in people or names]
    return "; ".join(dict.fromkeys(names)) or None


def _names_publisher(name: str, publishers: set[str]) -> bool:
    """The publication itself, or its newsroom ("Redacción Trome", "NOTICIAS TROME")."""
    return name in publishers or any(len(p) >= PUBLISHER_MIN_CHARS and p in name for p in publishers)


def _as_printed(name: str, page: str) -> str:
    """The page's own spelling of a name whose initials lost their dots ("Perry Bacon Jr" -> "Jr.")."""
    parts = name.split()
    if not any(_DOTTED.match(part) for part in parts):
        return name
    pattern = "".join(
        re.escape(part) + (r"\.?\s*" if _DOTTED.match(part) else r"\s+") for part in parts
    ).removesuffix(r"\s*").removesuffix(r"\s+")
    found = re.search(rf"(?<!\w){pattern}(?!\w)", page, re.IGNORECASE)
    return normalize_space(found[0]) if found else name
