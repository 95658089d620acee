"""Source credits: "Source: URL", "Bron: URL", "Nguồn: URL", "Theo vietnamplus.vn", ...

News sites credit the article they translate or republish in a short line at the
end. The same patterns serve three callers: seed documents (plain text), pages
(credit lines and their links) and extraction (credit lines are metadata, so they
are dropped from the clean text).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import html as lxml_html

from crawler.urls import absolute_url

# "Source" in the languages of the seed sites and their neighbours.
SOURCE_LABELS = (
    "Source", "Sources", "Bron", "Nguồn", "Quelle", "Fuente", "Fonte", "Fonti", "Źródło",
    "Kilde", "Källa", "Lähde", "Zdroj", "Forrás", "Sursa", "Kaynak", "Источник", "출처",
    "出典", "来源", "ที่มา", "Sumber",
)
# "According to <site>" credits that name a site, not a URL.
SITE_CREDIT_WORDS = ("Theo", "D'après", "D’après", "Selon", "Volgens", "Laut", "Según")

_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}"
_URL = rf"(?:https?://\S+|(?:www\.)?{_DOMAIN}/\S*)"
_LABEL = "|".join(re.escape(label) for label in SOURCE_LABELS)
_SITE_WORD = "|".join(re.escape(word) for word in SITE_CREDIT_WORDS)

# A whole line that is a credit: "Source: https://...", "Source : https://...",
# "(Nguồn: vietnamplus.vn)", "Theo vietnamplus.vn".
CREDIT_LINE = re.compile(
    rf"^\(?\s*(?:(?:{_LABEL})\s*:\s*(?P<url>{_URL}|{_DOMAIN})"
    rf"|(?:{_SITE_WORD})\s+(?P<site>{_DOMAIN}))\s*\.?\s*\)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Citation:
    """A credited source: a URL, or only a site when the credit names no article."""

    url: str | None = None
    site: str | None = None


# How a credit line starts, lower-cased: most text is passed over by one startswith, not a regex.
_CREDIT_STARTS = tuple(word.lower() for word in (*SOURCE_LABELS, *SITE_CREDIT_WORDS))


def parse_credit_line(line: str) -> Citation | None:
    if not line.lstrip().lstrip("(").lstrip().lower().startswith(_CREDIT_STARTS):
        return None
    match = CREDIT_LINE.match(" ".join(line.split()))
    if not match:
        return None
    if match["site"]:
        return Citation(site=match["site"].lower())
    url = match["url"].rstrip(".,;)")
    if "/" not in url:  # "Source: vietnamplus.vn" names a site
        return Citation(site=url.lower())
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    return Citation(url=url)


def is_credit_line(line: str) -> bool:
    return parse_credit_line(line) is not None


def citations_in_text(text: str) -> list[Citation]:
    found = (parse_credit_line(line) for line in text.splitlines())
    return list(dict.fromkeys(c for c in found if c))


def slugify(text: str) -> str:
    """ASCII slug as Vietnamese CMSs build them: 'Việt Nam-Nhật Bản' -> 'viet-nam-nhat-ban'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def same_site(host: str, site: str) -> bool:
    """``www.vietnamplus.vn`` belongs to the site ``vietnamplus.vn``."""
    return host == site or host.endswith("." + site)


def resolve_site_citation(
    site: str, links: list[str], own_url: str, is_article: callable
) -> str:
    """The article of ``site`` that a page links, best matching the page's own slug.

    Republished copies keep the original's slug, so the longest shared slug prefix
    picks the original among the page's links; with no article link, the site itself.
    """
    own_slug = slugify(urlsplit(own_url).path.rsplit("/", 1)[-1])
    candidates = [
        u for u in links if same_site((urlsplit(u).hostname or "").lower(), site) and is_article(u)
    ]
    if not candidates:
        return f"https://{site}/"

    def shared_prefix(url: str) -> int:
        slug = slugify(urlsplit(url).path.rsplit("/", 1)[-1])
        n = 0
        for a, b in zip(slug, own_slug):
            if a != b:
                break
            n += 1
        return n

    return max(candidates, key=shared_prefix)


_CREDIT_TAGS = ("p", "div", "span", "em", "strong", "i", "b", "li", "td", "figcaption", "footer")


def citations_in_page(page: str | bytes | lxml_html.HtmlElement, url: str, is_article: callable) -> list[str]:
    """Absolute URLs of the sources a page credits, in page order (from its HTML or parsed tree)."""
    tree = lxml_html.fromstring(page, base_url=url) if isinstance(page, (str, bytes)) else page
    cites: list[str] = []
    for element in tree.iter(*_CREDIT_TAGS):
        text = element.text_content()
        if len(text) > 400:
            continue
        citation = parse_credit_line(text)
        if citation is None:
            continue
        links = [link for a in element.iter("a") if (link := absolute_url(url, a.get("href") or ""))]
        if citation.url:
            cites.append(next((link for link in links if link.rstrip("/") == citation.url.rstrip("/")), citation.url))
        else:
            page_links = links + [link for a in tree.iter("a") if (link := absolute_url(url, a.get("href") or ""))]
            cites.append(resolve_site_citation(citation.site, page_links, url, is_article))
    return list(dict.fromkeys(cites))


@dataclass(frozen=True)
class SeedCitation:
    """A source cited by a seed document, with the slugs of its headline candidates."""

    seed: str
    citation: Citation
    headline_slugs: tuple[str, ...]


def seed_citations(seeds_dir: Path) -> list[SeedCitation]:
    found = []
    for path in sorted(Path(seeds_dir).glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # The headline is among the first lines; 4+ words keep out section names and dates.
        slugs = tuple(slugify(line) for line in lines[:5] if len(line.split()) >= 4)
        for citation in citations_in_text(text):
            found.append(SeedCitation(path.name, citation, slugs))
    return found
