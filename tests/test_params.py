from datetime import date

import pytest

from crawler.params import NewsSpiderParams, SpiderArgumentError


def test_url_argument_is_a_comma_separated_list():
    params = NewsSpiderParams.from_arguments({"url": "https://a.vn/x-1.html, https://b.vn/y-2.html"})
    assert params.start_urls() == ["https://a.vn/x-1.html", "https://b.vn/y-2.html"]


def test_urls_file_lists_one_url_per_line_skipping_comments(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text("# start here\nhttps://a.vn/x-1.html\n\nhttps://b.vn/y-2.html\n")
    assert NewsSpiderParams.from_arguments({"urls_file": str(path)}).start_urls() == [
        "https://a.vn/x-1.html",
        "https://b.vn/y-2.html",
    ]


def test_since_is_a_day():
    assert NewsSpiderParams.from_arguments({"since": "2025-11-20"}).since == date(2025, 11, 20)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"url": "ftp://a.vn/x"}, "-a url: Value error, not an http(s) URL: 'ftp://a.vn/x'"),
        ({"url": "a.vn/x"}, "not an http(s) URL"),
        ({"urls_file": "/nonexistent/urls.txt"}, "-a urls_file: Value error, no such file"),
        ({"since": "25/11/2025"}, "-a since: Input should be a valid date"),
        ({"url": "https://a.vn/x", "site": "https://a.vn/"}, "give only one of url, urls_file and site"),
        ({"depth": "3"}, "-a depth: Extra inputs are not permitted"),
    ],
)
def test_bad_arguments_fail_with_one_readable_line(arguments, message):
    with pytest.raises(SpiderArgumentError, match=None) as raised:
        NewsSpiderParams.from_arguments(arguments)
    assert message in str(raised.value)
