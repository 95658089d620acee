"""The HTTP/1.1 download handler of live crawls: Scrapy's, keeping what the WARC must record.

``FaithfulHttpDownloadHandler`` is Scrapy's ``HTTP11DownloadHandler`` with two changes:

- Each response's status line and header lines are kept as received (reason phrase, header
  order, name case, repeated headers, connection headers) and filed for the WARC capture
  (``crawler.received``). They are read where Twisted parses them: Scrapy already swaps the
  class of Twisted's ``HTTPClientParser`` for its lenient subclass; a subclass of that one
  notes each status and header line on its way through.
- A body longer than ``DOWNLOAD_MAXSIZE`` is cut at that size and the response returned with
  the ``truncated`` flag (the connection is closed; the rest is never read), where Scrapy
  would drop it: the WARC records what was read, with ``WARC-Truncated: length``, as
  Heritrix does, and ``crawler.sizelimits`` keeps it from any further processing. One
  warning line per response says so; ``DOWNLOAD_WARNSIZE`` still warns (once) about bodies
  that are large but whole.

Everything else (proxies, TLS, timeouts, data loss, ``download_maxsize`` meta) is Scrapy's.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from scrapy import signals
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ResponseReader,
    _ScrapyAgent,
)
from scrapy.exceptions import ResponseDataLossError
from scrapy.utils._download_handlers import (
    check_stop_download,
    get_dataloss_msg,
    get_warnsize_msg,
    wrap_twisted_exceptions,
)
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.web.iweb import UNKNOWN_LENGTH

from crawler.received import TRUNCATED_FLAG, ReceivedHead, remember_head

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.internet.interfaces import IAddress
    from twisted.web._newclient import HTTP11ClientProtocol
    from twisted.web._newclient import Request as TxRequest
    from twisted.web.client import Response as TxResponse
    from twisted.web.iweb import IResponse

logger = logging.getLogger(__name__)

_HEAD_ATTRIBUTE = "_news_archiver_head"  # on Twisted's response: (status line, [(name, value)])


class _HeadKeepingParser(_LenientHTTPClientParser):
    """Scrapy's lenient parser, noting the status line and every header line as received."""

    def statusReceived(self, status: bytes) -> None:
        super().statusReceived(status)  # type: ignore[no-untyped-call]
        # A 1xx answer is dropped by Twisted with its response: the final one starts afresh.
        setattr(self.response, _HEAD_ATTRIBUTE, (status, []))

    def headerReceived(self, name: bytes, value: bytes) -> None:
        getattr(self.response, _HEAD_ATTRIBUTE)[1].append((name, value))
        super().headerReceived(name, value)  # type: ignore[no-untyped-call]


class _HeadKeepingProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: TxRequest) -> Deferred[IResponse]:
        d = super().request(request)
        # The same swap Scrapy makes (the parser has no state of its own), one class further down.
        assert self._parser is not None
        self._parser.__class__ = _HeadKeepingParser
        return d


class _HeadKeepingFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: IAddress | None) -> HTTP11ClientProtocol:
        return _HeadKeepingProtocol(self._quiescentCallback)  # type: ignore[no-untyped-call]


def head_of(txresponse: TxResponse) -> ReceivedHead | None:
    """The status line and header lines the parser noted for this Twisted response."""
    noted = getattr(txresponse, _HEAD_ATTRIBUTE, None)
    if noted is None:
        return None
    status, lines = noted
    parts = status.decode("latin-1").split(" ", 2)
    return ReceivedHead(
        protocol=parts[0], code=parts[1] if len(parts) > 1 else str(txresponse.code),
        phrase=parts[2] if len(parts) > 2 else "",
        headers=tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in lines),
    )


class _CuttingResponseReader(_ResponseReader):
    """Scrapy's body reader, cutting the body at ``maxsize`` instead of dropping the response."""

    def __init__(self, *args: Any, expected_size: int = -1, **kwargs: Any) -> None:
        self._limit: int = kwargs.pop("maxsize")
        self._warn_at: int = kwargs.pop("warnsize")
        self._warned: bool = kwargs.pop("reached_warnsize", False)
        self._expected_size = expected_size
        # Scrapy's own checks off: this reader cuts at the limit and warns once, at the end.
        super().__init__(*args, maxsize=0, warnsize=0, **kwargs)

    def dataReceived(self, data: bytes) -> None:
        if self._finished.called:
            return
        room = self._limit - self._bytes_received if self._limit else len(data)
        if len(data) <= room:
            super().dataReceived(data)
            return
        if room > 0:
            super().dataReceived(data[:room])
            if self._finished.called:  # stopped by a bytes_received handler
                return
        self._cut()

    def _cut(self) -> None:
        assert self.transport is not None
        announced = f"Content-Length {self._expected_size}" if self._expected_size >= 0 else "no Content-Length"
        logger.warning(
            "Truncated %s at DOWNLOAD_MAXSIZE (%d bytes; %s): archived with WARC-Truncated: length, not processed",
            self._request.url, self._limit, announced,
        )
        # The rest is never read: closing the connection stops the server's transfer.
        self.transport.stopProducing()
        self.transport.loseConnection()
        self._finish_response(flags=[TRUNCATED_FLAG])

    def _finish_response(self, flags: list[str] | None = None, stop_download: Any = None) -> None:
        cut = TRUNCATED_FLAG in (flags or ())
        if self._warn_at and self._bytes_received > self._warn_at and not self._warned and not cut:
            logger.warning(get_warnsize_msg(self._bytes_received, self._warn_at, self._request, expected=False))
        super()._finish_response(flags=flags, stop_download=stop_download)


class _FaithfulAgent(_ScrapyAgent):
    def _cb_bodyready(self, txresponse: TxResponse, request: Request) -> Any:
        # Scrapy's, except that an announced length over the limit is read up to the limit.
        if stop_download := check_stop_download(
            signals.headers_received, self._crawler, request,
            headers=self._headers_from_twisted_response(txresponse), body_length=txresponse.length,
        ):
            txresponse._transport.stopProducing()
            txresponse._transport.loseConnection()
            return {"txresponse": txresponse, "stop_download": stop_download}
        if cast("int", txresponse.length) == 0:  # deliverBody hangs for responses without a body
            return {
                "txresponse": txresponse,
                "certificate": getattr(txresponse, "_scrapy_certificate", None),
                "ip_address": getattr(txresponse, "_scrapy_ip_address", None),
            }
        maxsize = request.meta.get("download_maxsize", self._maxsize)
        warnsize = request.meta.get("download_warnsize", self._warnsize)
        expected_size = cast("int", txresponse.length) if txresponse.length != UNKNOWN_LENGTH else -1
        # One warning per response: truncation (later) or size, never both.
        announced_too_big = bool(maxsize and expected_size > maxsize)
        announced_large = bool(warnsize and expected_size > warnsize)
        if announced_large and not announced_too_big:
            logger.warning(get_warnsize_msg(expected_size, warnsize, request, expected=True))
        d: Deferred[Any] = Deferred(partial(self._cancel, txresponse=txresponse))
        txresponse.deliverBody(_CuttingResponseReader(
            finished=d, txresponse=txresponse, request=request, maxsize=maxsize, warnsize=warnsize,
            reached_warnsize=announced_large, expected_size=expected_size,
            fail_on_dataloss=request.meta.get("download_fail_on_dataloss", self._fail_on_dataloss),
            crawler=self._crawler, tls_verbose_logging=self._tls_verbose_logging,
        ))
        self._txresponse = txresponse  # for timeouts
        return d

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        response = super()._cb_bodydone(result, url)
        if (head := head_of(result["txresponse"])) is not None:
            remember_head(response, head)
        return response


class FaithfulHttpDownloadHandler(HTTP11DownloadHandler):
    """HTTP/1.1 handler keeping status lines and header lines as received, cutting bodies at
    ``DOWNLOAD_MAXSIZE`` (flag ``truncated``) instead of dropping them."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = _HeadKeepingFactory

    async def download_request(self, request: Request) -> Response:
        # Scrapy's, with the agent above.
        agent = _FaithfulAgent(
            contextFactory=self._contextFactory, bindAddress=self._bind_address, pool=self._pool,
            maxsize=self._default_maxsize, warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
