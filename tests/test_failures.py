"""Naming why a download failed (crawler.failures): what the server did, not what our code did."""

import pytest
from scrapy.exceptions import DownloadFailedError, DownloadTimeoutError
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.web._newclient import ParseError, ResponseFailed
from twisted.web.http import _DataLoss

from crawler.failures import failure_detail, failure_kind


def wrapped(*reasons: Exception) -> DownloadFailedError:
    """As Scrapy raises it: its own error, caused by Twisted's wrapper of the parser's reasons."""
    try:
        raise DownloadFailedError(str(reasons)) from ResponseFailed([Failure(r) for r in reasons])
    except DownloadFailedError as exc:
        return exc


@pytest.mark.parametrize(("exception", "kind"), [
    (wrapped(ParseError("non-integer status code", b"HTTP/1.1 abc")), "bad_response"),
    (wrapped(ValueError("Value contains non-decimal digits: b'abc'")), "bad_response"),
    (wrapped(ConnectionLost(), _DataLoss()), "data_loss"),
    (DownloadTimeoutError("Getting x took longer than 4.0 seconds."), "timeout"),
    (ValueError("a bug in a middleware"), "other"),
])
def test_failure_is_named_by_what_caused_it(exception, kind):
    assert failure_kind(exception) == kind


def test_failure_detail_is_the_innermost_message():
    assert failure_detail(wrapped(ParseError("wrong number of parts", b"SSH-2.0"))) == "('wrong number of parts', b'SSH-2.0')"
