"""What spiders hand to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArticlePage:
    """An archived article page, before extraction turns it into an article record."""

    url: str
    html: str = field(repr=False)  # whole pages stay out of log lines
    site: str = ""
    spider: str = ""
    crawl_id: str = ""
    fetched_at: str = ""
    warc_filename: str | None = None
    warc_record_id: str | None = None
    canonical_url: str | None = None
    cites: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)  # {url, rel}: the typed link graph
    content_language: str | None = None
    since_applies: bool = True  # False for explicit asks (seeds, -a url) and cited sources
