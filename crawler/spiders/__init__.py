"""Spiders: one per site rules file (``crawler/sites/<name>.toml``), plus ``news`` for any site."""

from crawler.sites import all_rules
from crawler.spiders.base import NewsSpider, site_spiders

NewsSpider.site_rules = all_rules()["generic"]

_site_spiders = site_spiders()
globals().update({spider.__name__: spider for spider in _site_spiders})

__all__ = ["NewsSpider", *(spider.__name__ for spider in _site_spiders)]
