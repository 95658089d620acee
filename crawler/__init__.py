"""news-archiver: the Scrapy project (settings, spiders, site rules, replay)."""
