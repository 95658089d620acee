"""An operator's mistakes on the command line, found before a crawl starts: one line each, no traceback.

Scrapy reports an unknown spider, a bad ``-a`` argument or a ``-s`` value of the wrong type with a
traceback from deep inside the crawl's start (README, "Exit status": status 2 instead).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import ScrapyDeprecationWarning
from scrapy.settings import default_settings

from archiving.s3 import DEFAULTS as S3_DEFAULTS
from crawler.addon import DEFAULTS as PRODUCT_DEFAULTS
from crawler.params import SpiderArgumentError

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.settings import BaseSettings
    from scrapy.spiderloader import SpiderLoaderProtocol


class UsageMistake(Exception):
    """What the operator typed cannot run; the message says what and how to put it right."""


def check_spider(loader: SpiderLoaderProtocol, name: str) -> None:
    if name not in loader.list():
        raise UsageMistake(f"Unknown spider {name!r}: the spiders are {', '.join(sorted(loader.list()))} (scrapy list)")


def check_arguments(spidercls: type[Spider], arguments: dict[str, Any]) -> None:
    """The spider's own validation of its ``-a`` arguments (``validate_arguments``), if it has one."""
    validate = getattr(spidercls, "validate_arguments", None)
    if validate is None:
        return
    try:
        validate(arguments)
    except SpiderArgumentError as exc:
        raise UsageMistake(f"{exc} (README, Spider arguments)") from None


# Scrapy's own defaults do not tell whole numbers from others (DOWNLOAD_DELAY defaults to 0 and takes
# 0.3): a number is a number.
_TYPES: dict[type, str] = {bool: "true or false", int: "a number", float: "a number"}
# Numbers whose default (None) is worked out from other settings.
_DERIVED_NUMBERS = {"HOST_RATE_LIMIT": 0.0, "HOST_CONCURRENCY_LIMIT": 0}


def check_settings(settings: BaseSettings) -> None:
    """Every setting given as text (``-s``, the environment) whose default is a number or a flag reads as one."""
    for name, default in _known_defaults().items():
        with warnings.catch_warnings():  # reading a deprecated setting's name warns, needlessly here
            warnings.simplefilter("ignore", ScrapyDeprecationWarning)
            value = settings.get(name)
        kind = next((t for t in _TYPES if type(default) is t), None)
        if kind is None or not isinstance(value, str):
            continue
        try:
            (settings.getbool if kind is bool else settings.getfloat)(name)
        except ValueError:
            raise UsageMistake(f"Setting {name}={value!r}: must be {_TYPES[kind]} (README, Settings)") from None


def _known_defaults() -> dict[str, Any]:
    scrapy_defaults = {name: getattr(default_settings, name) for name in dir(default_settings) if name.isupper()}
    return {**scrapy_defaults, **S3_DEFAULTS, **PRODUCT_DEFAULTS, **_DERIVED_NUMBERS}
