"""Crawl state: what the archive knows of each page, so a scheduled crawl fetches only what is new or changed.

One row per URL key (``crawler.urls.url_key``): when it was fetched and how the server
answered (status, ETag, Last-Modified, payload digest, the WARC record of the last full
response), the article stored from it (text digest, version, when its text last changed,
when it was published) and when it is due again. ``CrawlState`` is the interface; SQLite is
the implementation for one machine (``CRAWL_STATE``: a file beside a local archive, or under
the spool for S3); ``RedisCrawlState`` shares it between the workers of a distributed crawl.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from weakref import WeakKeyDictionary

from archiving.storage import LocalStorage, storage_class

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

STATE_FILE = "crawl-state.sqlite"  # beside a local archive's folders; see README, "Archive layout"


@dataclass
class PageState:
    key: str
    url: str = ""
    kind: str = ""  # a list's kind (sitemap, feed, listing, start), or article / pending / other (crawler.incremental)
    fetched_at: float | None = None  # epoch seconds of the last exchange
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    payload_digest: str | None = None
    warc_record_id: str | None = None  # the last full (200) response: what a 304 revisit refers to
    warc_date: str | None = None
    warc_uri: str | None = None
    text_digest: str | None = None
    version: int | None = None
    published: float | None = None
    changed_at: float | None = None  # when the text last changed (or was first stored)
    checks: int = 0  # rechecks without a change since ``changed_at``
    next_check: float | None = None  # None: never again by policy (too old), unless listed as updated


class CrawlState(Protocol):
    def get(self, key: str) -> PageState | None: ...

    def put(self, page: PageState) -> None: ...

    def due(self, now: float, url_prefixes: tuple[str, ...] = ()) -> list[PageState]:
        """Articles whose recheck is due, and pages not yet processed; optionally only URLs with one of the prefixes."""
        ...

    def close(self) -> None: ...


_COLUMNS = [f.name for f in fields(PageState)]


class SqliteCrawlState:
    """The crawl state in one SQLite file (WAL: crawls of several processes may share it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Used from the reactor thread only; several crawls of one process each open their own.
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        columns = ", ".join(f"{name} {'TEXT PRIMARY KEY' if name == 'key' else ''}" for name in _COLUMNS)
        self.db.execute(f"CREATE TABLE IF NOT EXISTS pages ({columns})")
        self.db.execute("CREATE INDEX IF NOT EXISTS pages_due ON pages (next_check)")

    def get(self, key: str) -> PageState | None:
        row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM pages WHERE key = ?", (key,)).fetchone()
        return None if row is None else PageState(*row)

    def put(self, page: PageState) -> None:
        values = asdict(page)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        self.db.execute(f"INSERT OR REPLACE INTO pages ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                        [values[name] for name in _COLUMNS])

    def due(self, now: float, url_prefixes: tuple[str, ...] = ()) -> list[PageState]:
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM pages WHERE kind IN ('article', 'pending') AND next_check <= ? "
            "ORDER BY next_check",
            (now,),
        ).fetchall()
        pages = [PageState(*row) for row in rows]
        return [p for p in pages if not url_prefixes or p.url.startswith(url_prefixes)]

    def close(self) -> None:
        self.db.close()


class RedisCrawlState:
    """The crawl state in Redis, shared by the workers of a distributed crawl (crawler.distributed).

    ``<prefix>:state:pages`` maps each URL key to its ``PageState`` as JSON; ``<prefix>:state:due``
    orders the articles and pending pages by ``next_check``, as the SQLite index does.
    """

    DUE_KINDS = ("article", "pending")

    def __init__(self, server: Any, prefix: str) -> None:
        self.server = server
        self.pages = f"{prefix}:state:pages"
        self.due_index = f"{prefix}:state:due"

    def get(self, key: str) -> PageState | None:
        raw = self.server.hget(self.pages, key)
        return None if raw is None else _from_json(raw)

    def put(self, page: PageState) -> None:
        pipe = self.server.pipeline()  # MULTI: the page and its place in the index change together
        pipe.hset(self.pages, page.key, json.dumps(asdict(page), separators=(",", ":")))
        if page.kind in self.DUE_KINDS and page.next_check is not None:
            pipe.zadd(self.due_index, {page.key: page.next_check})
        else:
            pipe.zrem(self.due_index, page.key)
        pipe.execute()

    def due(self, now: float, url_prefixes: tuple[str, ...] = ()) -> list[PageState]:
        keys = self.server.zrangebyscore(self.due_index, "-inf", now)
        pages = [_from_json(raw) for raw in (self.server.hmget(self.pages, keys) if keys else []) if raw is not None]
        return [p for p in pages if not url_prefixes or p.url.startswith(url_prefixes)]

    def close(self) -> None:
        self.server.close()


def _from_json(raw: bytes | str) -> PageState:
    known = {name: value for name, value in json.loads(raw).items() if name in _COLUMNS}
    return PageState(**known)


def state_location(settings: BaseSettings) -> Path:
    """``CRAWL_STATE``, else beside a local archive, else in the spool of a remote one."""
    if configured := settings.get("CRAWL_STATE"):
        return Path(configured).expanduser()
    uri = str(settings.get("ARCHIVE_URI") or "archive")
    storage = storage_class(settings, uri).from_settings(settings, uri)
    if isinstance(storage, LocalStorage):
        return storage.root / STATE_FILE
    # A remote archive: beside its spool folder, never inside it (the spool uploads what it holds).
    spool = storage.partial_root
    return spool.parent / f".{spool.name}.{STATE_FILE}" if spool.name else spool / f".{STATE_FILE}"


_STATES: WeakKeyDictionary[Any, CrawlState] = WeakKeyDictionary()


def crawl_state(crawler: Crawler) -> CrawlState:
    """The crawl state of a crawl (in Redis for a distributed crawl), opened on first use and closed
    when the crawl's engine stops."""
    state = _STATES.get(crawler)
    if state is None:
        from scrapy import signals

        from crawler import distributed

        settings = crawler.settings
        if distributed.enabled(settings):
            state = RedisCrawlState(distributed.redis_server(settings), distributed.key_prefix(settings))
        else:
            state = SqliteCrawlState(state_location(settings))
        _STATES[crawler] = state
        crawler.signals.connect(state.close, signal=signals.engine_stopped, weak=False)
    return state


def now() -> float:
    return time.time()


def site_prefixes(netlocs: list[str]) -> tuple[str, ...]:
    """URL prefixes of the given hosts (with their ports), http and https: what ``due`` filters on."""
    return tuple(f"{scheme}://{netloc.lower()}/" for netloc in netlocs for scheme in ("https", "http"))
