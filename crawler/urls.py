"""URL canonicalisation: one key per article, whatever URL reached it.

News URLs come with tracking parameters, fragments, ``http`` or ``https``, with or
without ``www.`` and a trailing slash, and sometimes in an old and a new scheme that
share the article id (VietnamPlus ``/<slug>/1079147.vnp`` and ``/<slug>-post1079147.vnp``).
``url_key`` folds all of these; a site file's ``article_id`` regex names the id.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from w3lib.url import canonicalize_url

# Parameters that say who sent the reader, never what the page is.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|_ga|_gl|igshid|"
    r"zarsrc|gidzl|ref|ref_src|cmpid|ocid|src|source|rss|feed)$",
    re.IGNORECASE,
)


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters and fragment (scheme, host and path kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMETERS.match(k)]
    return parts._replace(query=urlencode(query), fragment="").geturl()


def url_key(url: str) -> str:
    """Equal for URLs that name the same resource: no scheme, no ``www.``, no trailing slash,
    sorted query without tracking parameters; ``<site host>:<id>`` for a site's article ids."""
    from crawler.sites import rules_for_url

    rules = rules_for_url(url)
    parts = urlsplit(canonicalize_url(strip_tracking(url)))
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    if rules.article_id and (match := re.search(rules.article_id, path)):  # /<slug>-post1.vnp/ too
        return f"{host}:{match.group(1)}"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")
