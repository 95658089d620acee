"""Per-site rules: one small declarative TOML file per site, validated here.

A site file names its hosts, which URLs are articles, where its sitemaps and feeds
are, which links are related articles, and (only where trafilatura needs help)
CSS selectors for fields and for boilerplate to prune. ``generic`` rules apply to
any host no site file claims.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta, timezone
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


class Selectors(BaseModel):
    """CSS selectors that override trafilatura for one field (first match wins)."""

    model_config = ConfigDict(extra="forbid")

    title: list[str] = []
    lead: list[str] = []
    body: list[str] = []
    published: list[str] = Field(
        default=[], description="selectors of an element whose datetime attribute or text is the date"
    )
    author: list[str] = []
    section: list[str] = []
    tags: list[str] = []
    prune: list[str] = Field(default=[], description="boilerplate inside the article to drop")


class Listing(BaseModel):
    """How listing pages go on: a next-page link, or a CMS "load more" JSON endpoint."""

    model_config = ConfigDict(extra="forbid")

    next: list[str] = ['a[rel="next"]::attr(href)', "a.pagination__next::attr(href)", "a.next::attr(href)", "a.page-next::attr(href)"]
    load_more: list[str] = ['[data-url*="morenews"]::attr(data-url)']


class SiteRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="spider name; 'generic' for the fallback rules")
    hosts: list[str] = []
    timezone: str | None = Field(default=None, description="UTC offset of dates printed without one")
    date_formats: list[str] = Field(default=[], description="strptime formats of printed dates")
    article_urls: list[str] = Field(default=[], description="regexes; a matching URL is an article")
    not_article_urls: list[str] = Field(default=[], description="regexes that veto article_urls")
    article_id: str | None = Field(
        default=None, description="regex on the URL path whose group 1 is the article id (same id = same article)"
    )
    start_urls: list[str] = []
    sitemaps: list[str] = []
    feeds: list[str] = []
    links: dict[str, list[str]] = Field(
        default={}, description="relation -> CSS selectors of blocks (or links) of that relation"
    )
    follow: list[str] = Field(
        default=["related", "same_category", "same_tag", "translation"],
        description="relations followed RELATED_DEPTH hops (cited sources are always followed)",
    )
    listings: list[str] = Field(default=[], description="section, tag or latest-news pages to start from")
    listing: Listing = Field(default_factory=lambda: Listing())
    selectors: Selectors = Selectors()

    @field_validator("timezone")
    @classmethod
    def _check_offset(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[+-]\d\d:\d\d", value):
            raise ValueError(f"timezone must look like +07:00, got {value!r}")
        return value

    @field_validator("article_urls", "not_article_urls")
    @classmethod
    def _check_regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    @field_validator("links")
    @classmethod
    def _check_relations(cls, links: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(links) - {"related", "same_category", "same_tag"}
        if unknown:
            raise ValueError(f"unknown link relations {sorted(unknown)}: use related, same_category, same_tag")
        return links

    @field_validator("article_id")
    @classmethod
    def _check_id_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None and re.compile(pattern).groups != 1:
            raise ValueError(f"article_id needs exactly one group: {pattern!r}")
        return pattern

    @property
    def tzinfo(self) -> timezone | None:
        if self.timezone is None:
            return None
        sign = -1 if self.timezone[0] == "-" else 1
        hours, minutes = (int(part) for part in self.timezone[1:].split(":"))
        return timezone(sign * timedelta(hours=hours, minutes=minutes))

    def owns(self, url: str) -> bool:
        return host_of(url) in self.hosts

    def is_article(self, url: str) -> bool:
        if not any(re.search(p, url) for p in self.article_urls):
            return False
        return not any(re.search(p, url) for p in self.not_article_urls)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def load_rules(path: Traversable) -> SiteRules:
    with path.open("rb") as f:
        return SiteRules.model_validate(tomllib.load(f))


@cache
def all_rules() -> dict[str, SiteRules]:
    """Every site file by name, ``generic`` included."""
    rules = {}
    # Package resources, not the file system: a Scrapyd egg is a zip on the import path.
    site_files = (p for p in files(__name__).iterdir() if p.name.endswith(".toml"))
    for path in sorted(site_files, key=lambda p: p.name):
        site = load_rules(path)
        if site.name in rules:
            raise ValueError(f"{path}: site name {site.name!r} is used twice")
        rules[site.name] = site
    return rules


@cache
def rules_for_host(host: str) -> SiteRules:
    for site in all_rules().values():
        if host in site.hosts:
            return site
    return all_rules()["generic"]


def rules_for_url(url: str) -> SiteRules:
    return rules_for_host(host_of(url))


def news_hosts() -> frozenset[str]:
    """Hosts of every known news site: cited sources on them may be followed across spiders."""
    return frozenset(h for site in all_rules().values() for h in site.hosts)
