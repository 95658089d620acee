import errno
import socket

import pytest

from crawler.netcheck import network_problem


def _refuse(*args, **kwargs):
    raise AssertionError("a probe of a local address must send nothing")


def _resolves(*args, **kwargs):
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", 443))]


def _fails(error):
    def connect(*args, **kwargs):
        raise error
    return connect


def test_a_name_that_does_not_resolve_means_no_network():
    def resolve(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    assert network_problem("https://www.vietnamplus.vn/", resolve=resolve, connect=_refuse) == (
        "cannot resolve www.vietnamplus.vn (Temporary failure in name resolution)")


def test_no_route_means_no_network():
    error = OSError(errno.ENETUNREACH, "Network is unreachable")
    assert network_problem("https://www.vietnamplus.vn/", resolve=_resolves, connect=_fails(error)) == (
        "no route to www.vietnamplus.vn (Network is unreachable)")


def test_no_answer_in_time_means_no_network():
    assert network_problem("https://www.vietnamplus.vn/", timeout=5, resolve=_resolves,
                           connect=_fails(socket.timeout())) == "no answer from www.vietnamplus.vn:443 in 5 s"


def test_a_refused_connection_is_a_site_down_not_a_missing_network():
    error = OSError(errno.ECONNREFUSED, "Connection refused")
    assert network_problem("https://www.vietnamplus.vn/", resolve=_resolves, connect=_fails(error)) is None


def test_a_local_address_is_never_probed():
    assert network_problem("http://127.0.0.1:8080/", resolve=_refuse, connect=_refuse) is None


# -- scrapy crawl's check ------------------------------------------------------------------------


def _crawler(**settings):
    from scrapy.utils.test import get_crawler

    from crawler.spiders.base import site_spiders

    spider = next(s for s in site_spiders() if s.name == "vietnamplus")
    return get_crawler(spider, settings)


def test_scrapy_crawl_checks_the_first_url_it_would_ask_for(monkeypatch):
    from crawler.commands import crawl

    asked = []
    monkeypatch.setattr(crawl, "network_problem", lambda url: asked.append(url) or "cannot resolve x")
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    assert crawl.no_network(_crawler(), {"url": "https://en.vietnamplus.vn/a-b-c-post1.vnp"}) == "cannot resolve x"
    assert asked == ["https://en.vietnamplus.vn/a-b-c-post1.vnp"]


@pytest.mark.parametrize("settings", [{"REPLAY": "tests/fixtures"}, {"NETWORK_CHECK": False}], ids=["replay", "off"])
def test_scrapy_crawl_sends_no_probe_when_it_needs_no_network(monkeypatch, settings):
    from crawler.commands import crawl

    monkeypatch.setattr(crawl, "network_problem", _refuse)
    assert crawl.no_network(_crawler(**settings), {}) is None


def test_behind_a_proxy_the_proxy_resolves_names(monkeypatch):
    from crawler.commands import crawl

    monkeypatch.setattr(crawl, "network_problem", _refuse)
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    assert crawl.no_network(_crawler(), {}) is None
