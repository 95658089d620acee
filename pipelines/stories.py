"""Stories: the articles that tell one story, across sites and languages.

Two articles are linked when one cites the other, when they are translations or the
same canonical page, when one is a near-copy of the other (trafilatura's Simhash on
clean text), or when language-independent evidence says so: published within a few
days, they share names, places and numbers that are rare in the archive (diacritics
folded, so "Lê Hoài Trung" in Vietnamese, French and Dutch text is one token).
Linked articles form a story (connected components); its id comes from its original.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawler.dates import parse_datetime
from crawler.urls import url_key

NEAR_COPY = 0.9  # Simhash similarity of two texts in the same language that copy each other
EVIDENCE_DAYS = 3  # published this close, or never linked by evidence alone
EVIDENCE_SCORE = 0.25  # weighted Jaccard of the two articles' evidence
EVIDENCE_MIN_SHARED = 3  # rare names/numbers two articles must share
RARE_SHARE = 0.15  # a token in more than this share of the archive's articles is not evidence
RARE_FLOOR = 60  # ... a share taken of this many articles at least: a name in 9 articles is rare in any archive

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d[\d.,]*\d|\d", re.UNICODE)


@functools.lru_cache(maxsize=65536)
def fold(token: str) -> str:
    token = token.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode().lower()


_SENTENCE_END = re.compile(r"\s*[.!?:\n]")


def evidence_tokens(text: str) -> set[str]:
    """Capitalised words not opening a sentence (names, places) and numbers, folded."""
    tokens = set()
    sentence_start = True
    for match in _WORD.finditer(text):
        word = match.group(0)
        if word[0].isdigit():
            digits = word.replace(".", "").replace(",", "")
            if len(digits) >= 2:
                tokens.add("#" + digits)
        elif word[0].isupper() and not sentence_start and len(word) > 1:
            tokens.add(fold(word))
        end = match.end()  # a sentence ends within the next two characters
        sentence_start = _SENTENCE_END.match(text, end, end + 2) is not None
    return tokens


# What a story needs of an article record besides its features (stories.jsonl describes each article with them).
DESCRIBED_FIELDS = ("url", "canonical_url", "site", "language", "title", "published")


@dataclass
class Article:
    key: str
    record: dict[str, Any]  # the DESCRIBED_FIELDS at least
    published: datetime | None
    tokens: set[str]
    simhash: int  # trafilatura's Simhash of the text (64 bits)
    refers_to: set[str] = field(default_factory=set)  # keys of cited, translated, canonical pages


def _published(record: dict[str, Any]) -> datetime | None:
    value = parse_datetime(record.get("published"))
    return value if value and value.tzinfo else None


@dataclass(frozen=True)
class TextFeatures:
    """What stories need of an article's title and text: the costly part of its features (3 ms a page),
    computed where the text is extracted (``pipelines.extraction``), in a worker process."""

    tokens: frozenset[str]
    simhash: int

    @classmethod
    def of(cls, title: str | None, text: str | None) -> TextFeatures:
        return cls(frozenset(evidence_tokens(f"{title or ''}\n{text or ''}")), simhash(text or ""))


def article(record: dict[str, Any], text_features: TextFeatures | None = None) -> Article:
    """The record as stories see it; ``text_features`` of its title and text when already computed."""
    refers = {url_key(u) for u in record.get("cites") or []}
    refers |= {url_key(link["url"]) for link in record.get("links") or [] if link.get("rel") in ("translation", "canonical")}
    key = url_key(record["canonical_url"])
    refers.discard(key)
    text_features = text_features or TextFeatures.of(record.get("title"), record.get("text"))
    return Article(key, record, _published(record), set(text_features.tokens), text_features.simhash, refers)


def features(item: Article) -> dict[str, Any]:
    """What linking and describing an article need, without its text (a line of ``stories/features.jsonl``)."""
    return {**{name: item.record.get(name) for name in DESCRIBED_FIELDS}, "key": item.key,
            "refers_to": sorted(item.refers_to), "tokens": sorted(item.tokens), "simhash": item.simhash}


def from_features(entry: dict[str, Any]) -> Article:
    """The Article that ``features`` describes, as ``article`` made it from the whole record."""
    record = {name: entry.get(name) for name in DESCRIBED_FIELDS}
    return Article(entry["key"], record, _published(record), set(entry["tokens"]), entry["simhash"], set(entry["refers_to"]))


SIMHASH_BITS = 64  # trafilatura's Simhash length


@functools.lru_cache(maxsize=2**16)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")


def simhash(text: str) -> int:
    """trafilatura's ``Simhash(text).hash``, bit for bit, five times faster (its per-token loop in numpy)."""
    import numpy as np
    # Imported here: trafilatura costs the crawl process 40 MB.
    from trafilatura.deduplication import sample_tokens

    tokens = sample_tokens(text, SIMHASH_BITS)
    hashes = np.fromiter((_token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    # A bit is set when at least half the tokens' hashes have it (trafilatura: the sum of +1 and -1 is >= 0).
    ones = ((hashes[:, None] >> np.arange(SIMHASH_BITS, dtype=np.uint64)) & np.uint64(1)).sum(axis=0)
    return sum(1 << bit for bit in range(SIMHASH_BITS) if 2 * int(ones[bit]) >= len(tokens))


def similarity(a: int, b: int) -> float:
    """trafilatura's Simhash.similarity of two hashes, without importing trafilatura (40 MB) in the crawl process."""
    return (SIMHASH_BITS - (a ^ b).bit_count()) / SIMHASH_BITS


NEAR_COPY_BITS = int(SIMHASH_BITS * (1 - NEAR_COPY) + 1e-9)  # 6: bits two near-copies may differ in


def _bands(bits: int, count: int) -> list[tuple[int, int]]:
    """(shift, mask) of ``count`` contiguous bands covering ``bits`` bits."""
    edges = [round(bits * i / count) for i in range(count + 1)]
    return [(lo, (1 << (hi - lo)) - 1) for lo, hi in itertools.pairwise(edges)]


_BANDS = _bands(SIMHASH_BITS, NEAR_COPY_BITS + 1)


def _apart(a: Article, b: Article) -> bool:
    """Published more than EVIDENCE_DAYS apart (never, when a date is unknown)."""
    if not (a.published and b.published):
        return False
    return abs((a.published - b.published).total_seconds()) > EVIDENCE_DAYS * 86400


def _pairs(groups: Iterable[list[Article]]) -> Iterator[tuple[Article, Article]]:
    """Every two articles of a group, each pair once however many groups they share."""
    seen: set[tuple[str, str]] = set()
    for group in groups:
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                pair = (a.key, b.key) if a.key < b.key else (b.key, a.key)
                if pair not in seen:
                    seen.add(pair)
                    yield a, b


def rare_weights(items: list[Article]) -> dict[str, float]:
    """The evidence tokens of an archive and their weights (inverse document frequency).

    Evidence is what crosses languages (names, places, numbers), and is rare: a word seen in one
    language only is that language's vocabulary, not evidence. Rarity is a share of the archive's
    articles, taken of RARE_FLOOR articles at least: in a small archive one story is a large
    share of it, and its own names would otherwise count as common and stop linking it."""
    df = Counter(token for item in items for token in item.tokens)
    languages: dict[str, set[str]] = defaultdict(set)
    for item in items:
        for token in item.tokens:
            languages[token].add(item.record.get("language") or "")
    size = max(len(items), RARE_FLOOR)
    limit = max(2, RARE_SHARE * size)
    return {t: math.log(size / n) for t, n in df.items() if n <= limit and len(languages[t]) >= 2}


class Stories:
    """Connected components of linked articles (union-find)."""

    def __init__(self, articles: Iterable[Article]) -> None:
        by_key: dict[str, Article] = {}
        for item in articles:
            by_key.setdefault(item.key, item)
        self.articles = by_key
        self._parent = {key: key for key in by_key}
        self.reasons: dict[tuple[str, str], str] = {}
        self._link_all()

    def _find(self, key: str) -> str:
        while self._parent[key] != key:
            self._parent[key] = self._parent[self._parent[key]]
            key = self._parent[key]
        return key

    def _union(self, a: str, b: str, reason: str) -> None:
        self.reasons.setdefault(tuple(sorted((a, b))), reason)  # the first: cites, then near-copy, then evidence
        root_a, root_b = self._find(a), self._find(b)
        if root_a != root_b:
            self._parent[root_b] = root_a

    def _link_all(self) -> None:
        items = list(self.articles.values())
        for item in items:
            for other in item.refers_to:
                if other in self.articles:
                    self._union(item.key, other, "cites")
        self._link_near_copies(items)
        idf = rare_weights(items)
        # Block on rare tokens: only articles sharing one are compared.
        postings: dict[str, list[Article]] = defaultdict(list)
        for item in items:
            for token in item.tokens & idf.keys():
                postings[token].append(item)
        for a, b in _pairs(postings.values()):
            if reason := self._evidence(a, b, idf):
                self._union(a.key, b.key, reason)

    def _link_near_copies(self, items: list[Article]) -> None:
        """Texts in one language whose Simhashes differ in at most NEAR_COPY_BITS bits, whatever else the
        archive holds. Cut into NEAR_COPY_BITS + 1 bands, two such hashes agree on one band at least
        (pigeonhole): only articles sharing a band are compared."""
        buckets: dict[tuple[str, int, int], list[Article]] = defaultdict(list)
        for item in items:
            for band, (shift, mask) in enumerate(_BANDS):
                buckets[item.record.get("language") or "", band, (item.simhash >> shift) & mask].append(item)
        for a, b in _pairs(buckets.values()):
            if not _apart(a, b) and similarity(a.simhash, b.simhash) >= NEAR_COPY:
                self._union(a.key, b.key, "near-copy")

    @staticmethod
    def _evidence(a: Article, b: Article, idf: dict[str, float]) -> str | None:
        if not (a.published and b.published) or _apart(a, b):
            return None
        rare_a, rare_b = a.tokens & idf.keys(), b.tokens & idf.keys()
        shared = rare_a & rare_b
        if len(shared) < EVIDENCE_MIN_SHARED:
            return None
        weight = sum(idf[t] for t in shared) / sum(idf[t] for t in rare_a | rare_b)
        return f"evidence {weight:.2f}: {' '.join(sorted(shared))}" if weight >= EVIDENCE_SCORE else None

    def groups(self) -> list[list[Article]]:
        members: dict[str, list[Article]] = defaultdict(list)
        for key, item in self.articles.items():
            members[self._find(key)].append(item)
        return sorted(members.values(), key=lambda group: min(a.key for a in group))

    def story_of(self) -> dict[str, str]:
        """canonical url_key -> story id."""
        ids = {}
        for group in self.groups():
            story = story_id(group)
            ids.update({a.key: story for a in group})
        return ids

    def describe(self) -> list[dict[str, Any]]:
        """Each story with its articles and their roles, for ``stories.jsonl``."""
        stories = []
        for group in self.groups():
            originals = _originals(group)
            first = originals[0]
            entries = []
            for item in sorted(group, key=lambda a: (a.published is None, a.published or datetime.min, a.key)):
                entries.append({
                    "url": item.record["url"], "canonical_url": item.record["canonical_url"], "site": item.record["site"],
                    "language": item.record.get("language"), "title": item.record.get("title"),
                    "published": item.record.get("published"), "role": _role(item, originals, first),
                })
            stories.append({"story_id": story_id(group), "articles": entries})
        return stories


def _originals(group: list[Article]) -> list[Article]:
    """Articles that others in the story cite (or else the earliest one), earliest first."""
    cited = {key for item in group for key in item.refers_to}
    originals = [a for a in group if a.key in cited and not (a.refers_to & {b.key for b in group})]
    originals = originals or [a for a in group if a.key in cited] or list(group)
    return sorted(originals, key=lambda a: (a.published is None, a.published or datetime.min, a.key))[: max(1, len(originals))]


def _role(item: Article, originals: list[Article], first: Article) -> str:
    if item in originals and (item is first or item.key in {k for o in originals for k in o.refers_to} or len(originals) > 1):
        return "original"
    same_language = [o for o in originals if o.record.get("language") == item.record.get("language")]
    if not same_language:
        # A translation says so: it credits an original, or the two link each other as language
        # versions. A report in another language that names no original is its own text.
        linked = any(o.key in item.refers_to or item.key in o.refers_to for o in originals)
        return "translation" if linked else "retelling"
    if any(similarity(o.simhash, item.simhash) >= NEAR_COPY for o in same_language):
        return "republication"
    return "retelling"


def story_id(group: list[Article]) -> str:
    """Named after the story's original, so it stays the same as the story grows."""
    first = _originals(group)[0]
    return "story-" + hashlib.sha1(first.key.encode()).hexdigest()[:12]
