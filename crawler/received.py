"""What a response looked like on the wire, for the WARC capture.

Scrapy's ``Response`` keeps neither the server's reason phrase nor its header lines as sent
(``Headers`` folds repeats under one name, title-cases names and leaves out connection
headers). The download handlers that know them (``crawler.download`` on the network,
``crawler.replay`` from a recording) file a ``ReceivedHead`` for each response they return;
``received_head(response)`` gives it back. ``Response`` has ``__slots__``, so the head is
kept beside it, in a weak mapping that forgets it with the response (and never follows a
``response.replace()``: only the object the handler returned has one).

Flags set on such responses:

- ``TRUNCATED_FLAG``: the body was cut at ``DOWNLOAD_MAXSIZE`` (the rest was never read):
  archived with ``WARC-Truncated: length``, then dropped before any processing
  (``crawler.sizelimits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from scrapy.http import Response

TRUNCATED_FLAG = "truncated"


@dataclass(frozen=True)
class ReceivedHead:
    """The status line and header lines of a response, as received (latin-1 text of the bytes)."""

    protocol: str  # "HTTP/1.1"
    code: str  # "200": the digits as sent
    phrase: str  # "Totally Fine"; "" when the server sent none
    headers: tuple[tuple[str, str], ...]  # every header line in order: name as sent, value without surrounding blanks

    @property
    def statusline(self) -> str:
        return f"{self.code} {self.phrase}" if self.phrase else self.code


_HEADS: WeakKeyDictionary[Response, ReceivedHead] = WeakKeyDictionary()


def remember_head(response: Response, head: ReceivedHead) -> None:
    _HEADS[response] = head


def received_head(response: Response) -> ReceivedHead | None:
    """The head its download handler saw, or None (another handler, or a replaced response)."""
    return _HEADS.get(response)
