"""Archive file names (archiving/layout.py), fuzzed: whatever the site name and canonical URL of an
article record, ``text/<site>/<article-id>`` stays under the archive root, one file name per
component, each a name Linux and S3 accept.

(No file name is made from a title: the article id comes from the canonical URL alone.)
"""

import os
from pathlib import Path, PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from archiving.layout import article_id, safe_site, text_base
from tests.fuzzing import fuzz

# What a hostile page or a broken URL may put in a site name or a canonical URL.
HOSTILE = st.sampled_from([
    "", ".", "..", "...", "/", "//", "\\", "\x00", "-", "--", "-rf", "--help", "~", "CON", "nul", "aux.txt",
    "../../etc/passwd", "/etc/passwd", "..\\..\\x", "%2e%2e", "%2e%2e%2f", "%2F", "%00", "%", "?", "#",
    "a" * 300, "é" * 200, "\U0001f4f0" * 80, "\u202e", "\ufeff", "\n", " ", ".hidden", "www.vietnamplus.vn",
    "https://", "http://[::1", "http://[", "//[]", "file:///", "x:99999",
])
TEXTS = st.one_of(
    st.text(max_size=300),
    HOSTILE,
    st.lists(st.one_of(HOSTILE, st.text(max_size=6)), max_size=8).map("".join),
)
# Hosts urlsplit refuses or reads oddly (brackets, ports out of range, user info), and any text.
HOSTS = st.one_of(st.sampled_from(["[", "]", "[::1", "[::1]", "[]", "a.vn:99999", "a.vn:-1", "user:pw@a.vn", "a.vn."]), TEXTS)
URLS = st.one_of(TEXTS, st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}",
                                  st.sampled_from(["https", "http", "HTTP", "x"]), HOSTS, TEXTS))


def assert_safe_relative_path(relpath: str, root: Path) -> None:
    """relpath names a file under root: relative, no empty, '.' or '..' component, no NUL, each
    component at most 255 bytes of UTF-8 and not an option, and it resolves under root."""
    assert not relpath.startswith("/") and "\\" not in relpath
    for component in PurePosixPath(relpath).parts:
        assert component not in ("", ".", ".."), relpath
        assert "\x00" not in component, relpath
        assert len(component.encode("utf-8")) <= 255, relpath
        assert not component.startswith("-"), relpath
    assert len(PurePosixPath(relpath).parts) == len(relpath.split("/"))  # no '//' or trailing '/'
    resolved = Path(os.path.realpath(root / relpath))
    assert resolved.is_relative_to(root), relpath


@fuzz(300)
@given(site=TEXTS, canonical_url=URLS, suffix=st.sampled_from([".txt", ".json"]))
def test_article_files_stay_under_the_archive_root(tmp_path_factory, site, canonical_url, suffix):
    root = Path(os.path.realpath(tmp_path_factory.getbasetemp()))
    assert_safe_relative_path(text_base(site, canonical_url) + suffix, root)


@fuzz(100)
@given(site=TEXTS)
def test_a_site_name_is_one_safe_path_component(site):
    name = safe_site(site)
    assert name not in ("", ".", "..") and "/" not in name and "\x00" not in name
    assert not name.startswith("-") and len(name.encode("utf-8")) <= 255


@fuzz(100)
@given(canonical_url=URLS)
def test_an_article_id_is_one_safe_path_component(canonical_url):
    name = article_id(canonical_url)
    assert name not in ("", ".", "..") and "/" not in name and "\x00" not in name
    assert not name.startswith("-") and len(name.encode("utf-8")) <= 255


# Found by fuzzing ---------------------------------------------------------------------------


def test_a_url_whose_host_python_refuses_still_gets_an_article_id():
    # urlsplit raises ValueError on an unclosed IPv6 bracket; the id is then the hash alone.
    assert article_id("https://[::1/news/a-1.html").startswith("index-")


def test_a_site_name_never_starts_with_a_dash():
    assert safe_site("-rf") == "rf" and safe_site("-") == "_" and safe_site(".-.x") == "x"
