"""``make demo``: every site spider replays the recorded seed story into the archive."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.sites import all_rules
from pipelines.storage import item_feeds


def run(replay: str, archive: str, spiders: list[str]) -> dict[str, dict]:
    settings = get_project_settings()
    settings.set("REPLAY", replay, priority="cmdline")
    settings.set("ARCHIVE_URI", archive, priority="cmdline")
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = {}
    for name in spiders:
        crawler = process.create_crawler(name)
        crawlers[name] = crawler
        process.crawl(crawler)
    process.start()
    return {name: crawler.stats.get_stats() for name, crawler in crawlers.items()}


def summary(stats: dict[str, dict], archive: Path, seconds: float) -> str:
    lines = [f"{'spider':<12} {'requests':>8} {'articles':>8} {'errors':>6}  items file"]
    articles: dict[str, str] = {}  # canonical URL -> site: several spiders may reach one article
    for name, s in stats.items():
        # Failed responses and downloads (a replay miss is one ignored 404); requests that
        # robots.txt or the offsite filter dropped on purpose are not errors.
        failed_downloads = s.get("downloader/exception_count", 0) - s.get(
            "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest", 0
        )
        errors = s.get("log_count/ERROR", 0) + s.get("httperror/response_ignored_count", 0) + failed_downloads
        items = sorted(item_feeds(archive, name), key=lambda p: p.stat().st_mtime)
        if items:
            for line in items[-1].read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                articles[record["canonical_url"]] = record["site"]
        lines.append(
            f"{name:<12} {s.get('downloader/request_count', 0):>8} {s.get('extraction/articles', 0):>8} {errors:>6}  "
            f"{items[-1] if items else '-'}"
        )
    lines.append("")
    sites = Counter(articles.values())
    lines.append(f"distinct articles: {len(articles)}; per site: " + ", ".join(f"{site} {n}" for site, n in sorted(sites.items())))
    lines.append("(an article reached by several spiders counts in each spider's row, and is written once, as one text and one JSON file)")
    counts = {kind: sum(1 for _ in archive.glob(pattern)) for kind, pattern in
              (("WARC", "warc/*/*.warc.gz"), ("CDXJ", "indexes/*.cdxj"), ("text", "text/*/*.txt"), ("JSON", "text/*/*.json"))}
    lines.append("files in " + str(archive) + ": " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    lines.append(f"took {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replay", default="tests/fixtures", help="recording to replay (REPLAY)")
    parser.add_argument("--archive", default="archive", help="archive folder (ARCHIVE_URI)")
    parser.add_argument("spiders", nargs="*", help="default: every site spider")
    args = parser.parse_args(argv)
    spiders = args.spiders or [name for name in all_rules() if name != "generic"]
    started = time.monotonic()
    stats = run(args.replay, args.archive, spiders)
    print(summary(stats, Path(args.archive), time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
