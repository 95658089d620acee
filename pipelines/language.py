"""The language of an article: what its page declares, unless its text surely says otherwise."""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

import lxml.html

from pipelines.workers import give_back_memory

logger = logging.getLogger(__name__)

# "en" is the default language of most CMS templates, and pages in Swahili, Zulu, German or
# Bengali keep it: on a page that declares "en", a text this long whose language is detected
# this surely outranks the declaration. Other declarations are rarely wrong (15 of the 17 wrong
# ones on the development set said "en"), and detection costs a millisecond a page.
DEFAULT_TEMPLATE_LANGUAGE = "en"
LANGUAGE_DETECTION_MIN_CHARS = 400
# Enough to be sure (2,000 chose the same language on every page of the development set); the
# rest only costs time: py3langid reads the text byte by byte in Python, 0.3 ms per 1,000.
LANGUAGE_DETECTION_CHARS = 1000
LANGUAGE_DETECTION_MIN_PROBABILITY = 0.95


@cache
def language_identifier() -> Any | None:
    """py3langid's model (83 MB in memory), or None when it cannot be loaded: declarations stand."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    except OSError as exc:  # it decompresses through a temporary file: a full disk stops it
        logger.warning("Language detection off: its model could not be loaded (%s); declared languages stand", exc)
        return None
    give_back_memory()  # decompressing took 35 MB more, for a moment
    return identifier


def declared_language(tree: lxml.html.HtmlElement, content_language: str | None) -> str | None:
    """The ISO 639-1 code a page declares (``<html lang>``, Content-Language, og:locale), if any."""
    declared = tree.get("lang") or content_language or "".join(tree.xpath('//meta[@property="og:locale"]/@content'))
    code = re.split(r"[-_,; ]", declared.strip().lower())[0] if declared else ""
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def choose_language(code: str | None, text: str) -> str | None:
    """The article's language: its declaration, unless detection on its text is sure it is wrong."""
    if not text or (code and (code != DEFAULT_TEMPLATE_LANGUAGE or len(text) < LANGUAGE_DETECTION_MIN_CHARS)):
        return code
    identifier = language_identifier()
    if identifier is None:
        return code
    detected, probability = identifier.classify(text[:LANGUAGE_DETECTION_CHARS])
    if not re.fullmatch(r"[a-z]{2}", detected):  # records carry ISO 639-1 codes ("yue", "zxx" have none)
        return code
    if code is None:
        return detected
    if detected == code or probability < LANGUAGE_DETECTION_MIN_PROBABILITY:
        return code  # the common case: one detection agrees with the page
    # Each half on its own must be surely the same language: an English report quoting German
    # at length is still English.
    half = len(text) // 2
    (first, p_first), (second, p_second) = (
        identifier.classify(part[:LANGUAGE_DETECTION_CHARS]) for part in (text[:half], text[half:]))
    sure = min(p_first, p_second) >= LANGUAGE_DETECTION_MIN_PROBABILITY
    return detected if sure and first == second == detected else code
