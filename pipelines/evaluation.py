"""Extraction quality as article-extraction benchmarks measure it.

Word 4-gram shingles over ``\\w+`` tokens (lower-cased); per page, precision is the
share of extracted shingles found in the ground truth and recall the share of
ground-truth shingles extracted.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def precision_recall(extracted: str, truth: str) -> tuple[float, float]:
    got, want = shingles(extracted), shingles(truth)
    overlap = len(got & want)
    precision = overlap / len(got) if got else 0.0
    recall = overlap / len(want) if want else 1.0
    return precision, recall
