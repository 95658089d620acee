"""URL canonicalisation: one key per article, whatever URL reached it.

News URLs come with tracking parameters, fragments, ``http`` or ``https``, with or
without ``www.`` and a trailing slash, and sometimes in an old and a new scheme that
share the article id (VietnamPlus ``/<slug>/1079147.vnp`` and ``/<slug>-post1079147.vnp``).
``url_key`` folds all of these; a site file's ``article_id`` regex names the id.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from w3lib.url import canonicalize_url

# Parameters that say who sent the reader, never what the page is.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|_ga|_gl|igshid|"
    r"zarsrc|gidzl|ref|ref_src|cmpid|ocid|src|source|rss|feed)$",
    re.IGNORECASE,
)
# Session ids name the visitor, never the page: a site that puts them in links would otherwise
# be an endless crawl of one page under new names (``?sid=`` is left: some sites' article id).
SESSION_PARAMETERS = re.compile(r"^(jsessionid|phpsessid|aspsessionid\w*|sessionid|session_id|cfid|cftoken)$", re.IGNORECASE)
SESSION_PATH_PARAMETER = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters, session ids and fragment (scheme, host and path kept)."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMETERS.match(k) and not SESSION_PARAMETERS.match(k)
    ]
    path = SESSION_PATH_PARAMETER.sub("", parts.path)
    return parts._replace(path=path, query=urlencode(query), fragment="").geturl()


def url_key(url: str) -> str:
    """Equal for URLs that name the same resource: no scheme, no ``www.``, no trailing slash,
    sorted query without tracking parameters or session ids; ``<site host>:<id>`` for a site's
    article ids. A port other than the scheme's own is kept: it is another server."""
    from crawler.sites import rules_for_url

    rules = rules_for_url(url)
    parts = urlsplit(canonicalize_url(strip_tracking(url)))
    host = (parts.hostname or "").removeprefix("www.")
    with contextlib.suppress(ValueError):  # a port out of range: no server, keep the key as it is
        if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
            host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    if rules.article_id and (match := re.search(rules.article_id, path)):  # /<slug>-post1.vnp/ too
        return f"{host}:{match.group(1)}"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def url_problem(base: str, href: str) -> str | None:
    """Why ``href``, made absolute against ``base``, is no http(s) URL to request; None if it is one.

    Pages and servers point anywhere (``javascript:``, ``mailto:``, ``http://[oops/``, ports
    over 65535, nothing at all): such a link is not followed, such a redirect is refused.
    """
    if not href.strip():
        return "empty"
    try:
        parts = urlsplit(urljoin(base, href.strip()))
        port = parts.port  # raises on a port that is no number in 0-65535
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme or 'missing'!r} is not http(s)"
    if not parts.hostname:
        return "no host"
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            return f"invalid IPv6 host {parts.hostname!r}"
    if port == 0:
        return "port 0"
    return None


def absolute_url(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``, or None when that is no URL to request (``url_problem``)."""
    return None if url_problem(base, href) else urljoin(base, href.strip())
