import pytest

from crawler.urls import absolute_url, strip_tracking, url_key

VNP = "https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban-post1079147.vnp"


@pytest.mark.parametrize(
    "variant",
    [
        VNP + "?utm_source=facebook&utm_medium=social&fbclid=abc",
        VNP + "#comments",
        VNP.replace("https://", "http://"),
        VNP.replace("www.", ""),
        "https://www.vietnamplus.vn/quan-he-hop-tac-dia-phuong-la-diem-sang-trong-quan-he-viet-nam-nhat-ban/1079147.vnp",
    ],
)
def test_variants_of_one_article_share_its_key(variant):
    assert url_key(variant) == url_key(VNP) == "vietnamplus.vn:1079147"


def test_trailing_slash_www_and_query_order_do_not_matter_without_an_id():
    assert url_key("https://www.vietnam.vn/en/a-b-c-d/") == url_key("http://vietnam.vn/en/a-b-c-d")
    assert url_key("https://x.example/p?b=2&a=1") == url_key("https://x.example/p?a=1&b=2")


def test_meaningful_query_parameters_stay():
    assert url_key("https://x.example/search?q=gunma&page=2") != url_key("https://x.example/search?q=gunma&page=3")


def test_editions_with_their_own_id_series_stay_apart():
    assert url_key("https://en.vietnamplus.vn/x-post1079147.vnp") != url_key(VNP)


def test_strip_tracking_keeps_scheme_host_and_path():
    assert strip_tracking("https://a.vn/x?id=3&utm_campaign=z#top") == "https://a.vn/x?id=3"


@pytest.mark.parametrize("href", [
    "http://[oops/", "https://[::1/x", "http://[::zz]/x", "http://127.0.0.1:99999/b", "javascript:void(0)",
    "mailto:desk@example.org", "file:///etc/passwd", "http:///x", "  ",
])
def test_a_link_that_names_no_server_has_no_absolute_url(href):
    assert absolute_url("https://www.vietnamplus.vn/a/b.vnp", href) is None


def test_a_relative_link_is_made_absolute():
    assert absolute_url("https://www.vietnamplus.vn/a/b.vnp", " ../c-d-e.vnp ") == "https://www.vietnamplus.vn/c-d-e.vnp"

