"""The one date parser: every date a page, a feed or a sitemap states, and every date we stored.

Sources state dates in three forms: ISO 8601 / W3C datetimes (meta tags, JSON-LD, sitemaps,
our own records), RFC 822 (RSS feeds) and the site's printed form ("Thứ Ba, 25/11/2025 15:50",
the ``date_formats`` of its rules). A date stated without a UTC offset is in the zone given
(the site's), or stays naive when none is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from email.utils import parsedate_to_datetime

_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d\d)(\d\d)$")
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d\d(?::\d\d)?\s*(?:[+-]\d{4}|[A-Za-z]{1,5})?$")


def parse_datetime(value: str | None, tz: tzinfo | None = None, formats: Sequence[str] = ()) -> datetime | None:
    """The instant ``value`` states, or None when it states none.

    ``formats`` (``strptime`` patterns) are tried last, on the formatted part of a printed
    date: "Thứ Ba, 25/11/2025 15:50" matches "%d/%m/%Y %H:%M" from its 8th character.
    """
    value = " ".join(unicodedata.normalize("NFC", value or "").split())
    if not value:
        return None
    parsed = _iso(value) or _rfc822(value) or _printed(value, formats)
    if parsed is not None and parsed.tzinfo is None and tz is not None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def parse_day(value: str | None) -> date | None:
    """The calendar day of a date as stated (its own offset's day, not UTC's)."""
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def _iso(value: str) -> datetime | None:
    """ISO 8601 and W3C datetimes, with "Z", "+0700" or a space before the time."""
    iso = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", value.replace("Z", "+00:00").replace(" ", "T", 1))
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


def _rfc822(value: str) -> datetime | None:
    """RSS dates: "Tue, 25 Nov 2025 15:50:00 +0700". Only in that shape: the standard library's reader
    takes "November 25, 2025 3:50 PM" too, and drops its PM."""
    if not _RFC822.match(value):
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _printed(value: str, formats: Sequence[str]) -> datetime | None:
    for fmt in formats:
        # Printed dates carry extra words ("Thứ Ba, 25/11/2025 15:50"): find the formatted part.
        for start in range(len(value)):
            try:
                return datetime.strptime(value[start:], fmt)
            except ValueError:
                continue
    return None
