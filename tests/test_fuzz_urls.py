"""URL keys (crawler/urls.py), fuzzed: canonicalising is idempotent, and every variant the README
folds (tracking parameters, fragment, http or https, ``www.``, trailing slash, query order) has
the key of the URL it varies."""

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from w3lib.url import canonicalize_url

from crawler.urls import strip_tracking, url_key
from tests.fuzzing import fuzz

# Hosts with their www. twin (a site file lists both), hosts of other editions, generic hosts.
WWW_TWINS = ["www.vietnamplus.vn", "nhandan.vn", "www.vietnam.vn", "lecourrier.vn", "huengaynay.vn", "www.sggp.org.vn",
             "example.org", "www.dailynews.com", "bücher.example", "xn--bcher-kva.example"]
HOSTS = st.sampled_from([*WWW_TWINS, "en.vietnamplus.vn", "en.sggp.org.vn", "news.example.co.uk", "127.0.0.1", "[::1]"])
# Path segments: anything a page may link, and the shapes of the sites' article ids. Raw control
# characters and spaces are left to the percent-encoded form: at a URL's end a parser strips them
# (WHATWG), so "/\x08" is "/" while "/\x08/" is "/%08/", another URL, not a trailing-slash variant.
SEGMENTS = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Zs")), max_size=12),
    st.sampled_from(["", ".", "..", "%2F", "%00", "a%20b", "tin%E1%BB%A9c", "x-post1079147.vnp", "1079147.vnp",
                     "a-b-post925748.html", "1296098.html", "a-160296.html", "post1.vnp", "index.html", ";x", "~u"]),
)
PARAMETERS = st.sampled_from(["id", "q", "page", "p", "cat", "a", "b", "ID", "x y", "é", "sid", "v"])
TRACKING = st.sampled_from(["utm_source", "UTM_Medium", "utm_campaign", "fbclid", "gclid", "ref", "zarsrc", "rss", "_ga"])
VALUES = st.text(max_size=8)


# Article URLs of the site files: host, and the path with its id ({slug}, {n}).
ARTICLES = st.sampled_from([
    ("www.vietnamplus.vn", "/{slug}-post{n}.vnp"), ("vietnamplus.vn", "/{slug}/{n}.vnp"), ("en.vietnamplus.vn", "/{slug}-post{n}.vnp"),
    ("nhandan.vn", "/{slug}-post{n}.html"), ("en.sggp.org.vn", "/{slug}-post{n}.html"), ("lecourrier.vn", "/{slug}/{n}.html"),
    ("huengaynay.vn", "/the-gioi/{slug}-{n}.html"), ("www.vietnam.vn", "/en/{slug}"),
])


@st.composite
def urls(draw) -> str:
    """A URL a page may link: a site's article, or any path on known and unknown hosts; a query of
    meaningful parameters."""
    scheme = draw(st.sampled_from(["http", "https"]))
    if draw(st.booleans()):
        host, shape = draw(ARTICLES)
        slug = "-".join(draw(st.lists(st.sampled_from(["quan", "he", "hop", "tac", "post", "vnp", "2025", "a1"]), min_size=1,
                                      max_size=5)))
        path = shape.format(slug=slug, n=draw(st.integers(1, 10**9)))
    else:
        host, segments, encode = draw(HOSTS), draw(st.lists(SEGMENTS, max_size=4)), draw(st.booleans())
        path = "/" + "/".join(quote(s, safe="%") if encode else s.replace("?", "").replace("#", "") for s in segments)
    pairs = draw(st.lists(st.tuples(PARAMETERS, VALUES), max_size=3, unique_by=lambda pair: pair[0]))
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


@st.composite
def variants(draw) -> tuple[str, str]:
    """A URL and one of the forms the README folds into its key."""
    url = draw(urls())
    scheme, rest = url.split("://", 1)
    host, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    pairs = [p for p in query.split("&") if p]
    kind = draw(st.sampled_from(["tracking", "fragment", "scheme", "www", "trailing slash", "query order", "host case"]))
    if kind == "tracking":
        for _ in range(draw(st.integers(1, 3))):
            pairs.insert(draw(st.integers(0, len(pairs))), f"{draw(TRACKING)}={quote(draw(VALUES))}")
    elif kind == "fragment":
        path = path + "?" + "&".join(pairs) if pairs else path
        return url, f"{scheme}://{host}/{path}#{quote(draw(st.text(max_size=8)))}"
    elif kind == "scheme":
        scheme = "https" if scheme == "http" else "http"
    elif kind == "www":
        bare = host.removeprefix("www.")
        if bare in WWW_TWINS or f"www.{bare}" in WWW_TWINS:
            host = bare if host.startswith("www.") else f"www.{host}"
    elif kind == "trailing slash":
        path += "/"
    elif kind == "query order":
        pairs = draw(st.permutations(pairs))
    elif kind == "host case":
        host = host.upper()
    return url, f"{scheme}://{host}/{path}" + ("?" + "&".join(pairs) if pairs else "")


def canonical(url: str) -> str:
    """The form url_key reads a URL in: tracking parameters and fragment gone, then w3lib's canonical URL."""
    return canonicalize_url(strip_tracking(url))


@fuzz(200)
@given(variants())
def test_every_variant_the_readme_folds_has_the_key_of_the_url(pair):
    url, variant = pair
    assert url_key(variant) == url_key(url)


@fuzz(100)
@given(urls())
def test_removing_tracking_parameters_twice_changes_nothing(url):
    once = strip_tracking(url)
    assert strip_tracking(once) == once


@fuzz(100)
@given(urls())
def test_canonicalising_a_canonical_url_changes_nothing(url):
    assert canonical(canonical(url)) == canonical(url)


@fuzz(100)
@given(urls())
def test_a_canonical_url_has_the_key_of_the_url(url):
    assert url_key(canonical(url)) == url_key(url)


# Found by fuzzing ---------------------------------------------------------------------------


def test_a_trailing_slash_after_an_article_id_keeps_the_article_key():
    url = "https://www.vietnamplus.vn/quan-he-hop-tac-post1079147.vnp"
    assert url_key(url + "/") == url_key(url) == "vietnamplus.vn:1079147"
