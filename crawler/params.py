"""Spider arguments (``-a name=value``), validated in one typed place."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class SpiderArgumentError(ValueError):
    """Raised with one readable line per bad argument."""


class NewsSpiderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: list[str] = Field(default=[], description="start from these URLs only (comma-separated)")
    urls_file: Path | None = Field(default=None, description="file with one start URL per line")
    site: str | None = Field(default=None, description="discover a whole site from its root URL")
    seeds: Path = Field(default=Path("seeds"), description="folder of seed documents")
    since: date | None = Field(default=None, description="skip articles published before this day")
    # Scrapyd gives every job its id (-a _job=...) and the egg version asked for (-a _version=...);
    # they are Scrapyd's, kept here, and no other unknown argument is let through.
    scrapyd_job: str | None = Field(default=None, alias="_job", description="the Scrapyd job id")
    scrapyd_version: str | None = Field(default=None, alias="_version", description="the Scrapyd project version")

    @field_validator("url", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator("url")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            check_http_url(url)
        return urls

    @field_validator("site")
    @classmethod
    def _check_site(cls, site: str | None) -> str | None:
        return None if site is None else check_http_url(site)

    @field_validator("urls_file")
    @classmethod
    def _check_urls_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @model_validator(mode="after")
    def _one_source_of_urls(self) -> NewsSpiderParams:
        given = [name for name in ("url", "urls_file", "site") if getattr(self, name)]
        if len(given) > 1:
            raise ValueError(f"give only one of url, urls_file and site (got {', '.join(given)})")
        return self

    @model_validator(mode="after")
    def _default_seeds_outside_a_checkout(self) -> NewsSpiderParams:
        # Scrapyd, cron and systemd run crawls from their own folder, where the default relative
        # folder does not exist: the seeds shipped in the package stand in. -a seeds=DIR is used as given.
        if "seeds" not in self.model_fields_set and not self.seeds.is_dir():
            self.seeds = packaged_seeds() or self.seeds
        return self

    @classmethod
    def from_arguments(cls, arguments: dict[str, Any]) -> NewsSpiderParams:
        try:
            return cls.model_validate(arguments)
        except ValidationError as exc:
            lines = [
                f"-a {'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            ]
            raise SpiderArgumentError("; ".join(lines)) from None

    def start_urls(self) -> list[str]:
        """The URLs given by ``url`` or ``urls_file``, in order."""
        if self.urls_file is None:
            return self.url
        lines = self.urls_file.read_text(encoding="utf-8").splitlines()
        return [check_http_url(line.strip()) for line in lines if line.strip() and not line.startswith("#")]


@cache
def packaged_seeds() -> Path | None:
    """The seed documents shipped in the package (``crawler/seeds/``, see setup.py) as a folder on disk.

    An installed package has them on disk; a Scrapyd egg is a zip on the import path, so they
    are copied out once per process into a temporary folder removed at exit.
    """
    resource = files("crawler") / "seeds"
    if not resource.is_dir():
        return None  # a checkout (or an editable install of one): its seeds/ folder is the default
    if isinstance(resource, Path):
        return resource
    folder = Path(tempfile.mkdtemp(prefix="news-archiver-seeds-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for entry in resource.iterdir():
        if entry.is_file() and entry.name.endswith(".txt"):
            (folder / entry.name).write_bytes(entry.read_bytes())
    return folder


def check_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url
