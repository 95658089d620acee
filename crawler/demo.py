"""``make demo``: every site spider replays the recorded seed story into the archive."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import ExitStack

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from archiving.layout import INDEX_DIR, ITEMS_DIR, TEXT_DIR, WARC_DIR, is_cdxj, is_warc, read_jsonl
from archiving.lock import ArchiveLocked
from archiving.storage import ArchiveError, ArchiveStorage, open_archive
from crawler.outcome import EXIT_ARCHIVE, EXIT_LOCKED, EXIT_SCRAPY
from crawler.sites import all_rules


def run(replay: str, archive: str, spiders: list[str]) -> tuple[dict[str, dict], ArchiveStorage]:
    settings = get_project_settings()
    settings.set("REPLAY", replay, priority="cmdline")
    if archive:
        settings.set("ARCHIVE_URI", archive, priority="cmdline")
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    archive = open_archive(settings)
    process = CrawlerProcess(settings)
    crawlers = {}
    with ExitStack() as locks:
        for name in spiders:
            locks.enter_context(archive.crawl_lock(name))  # as scrapy crawl does: one crawl per spider
            crawler = process.create_crawler(name)
            crawlers[name] = crawler
            process.crawl(crawler)
        process.start()
    return {name: crawler.stats.get_stats() for name, crawler in crawlers.items()}, archive


def summary(stats: dict[str, dict], archive: ArchiveStorage, seconds: float) -> str:
    lines = [f"{'spider':<12} {'requests':>8} {'articles':>8} {'errors':>6}  items file"]
    articles: dict[str, str] = {}  # canonical URL -> site: several spiders may reach one article
    for name, s in stats.items():
        # Failed responses and downloads (a replay miss is one ignored 404); requests that
        # robots.txt or the offsite filter dropped on purpose are not errors.
        failed_downloads = s.get("downloader/exception_count", 0) - s.get(
            "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest", 0
        )
        errors = s.get("log_count/ERROR", 0) + s.get("httperror/response_ignored_count", 0) + failed_downloads
        feed = f"{ITEMS_DIR}/{name}/{s['news/crawl_id']}.jsonl" if "news/crawl_id" in s else None
        data = archive.read(feed) if feed else None
        for record in read_jsonl(data or b""):
            articles[record["canonical_url"]] = record["site"]
        lines.append(
            f"{name:<12} {s.get('downloader/request_count', 0):>8} {s.get('extraction/articles', 0):>8} {errors:>6}  "
            f"{archive.describe(feed) if data is not None else '-'}"
        )
    lines.append("")
    sites = Counter(articles.values())
    lines.append(f"distinct articles: {len(articles)}; per site: " + ", ".join(f"{site} {n}" for site, n in sorted(sites.items())))
    lines.append("(an article reached by several spiders counts in each spider's row, and is written once, as one text and one JSON file)")
    warcs, indexes, texts = archive.list(WARC_DIR + "/"), archive.list(INDEX_DIR + "/"), archive.list(TEXT_DIR + "/")
    counts = {
        "WARC": sum(is_warc(e.path) for e in warcs), "CDXJ": sum(is_cdxj(e.path) for e in indexes),
        "text": sum(e.path.endswith(".txt") for e in texts), "JSON": sum(e.path.endswith(".json") for e in texts),
    }
    everything = archive.list("")
    lines.append("files in " + archive.describe() + ": " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
                 + f"; {len(everything)} files, {sum(e.size for e in everything)} bytes in all")
    calls: Counter[str] = Counter()
    for s in stats.values():
        calls.update({k.removeprefix("s3/requests/"): v for k, v in s.items() if k.startswith("s3/requests/")})
    if calls:
        attempts = sum(s.get("s3/attempts", 0) for s in stats.values())
        per_article = sum(calls.values()) / max(len(articles), 1)
        lines.append(f"S3: {sum(calls.values())} requests ({per_article:.1f} per article), {attempts} attempts; "
                     + ", ".join(f"{op} {n}" for op, n in calls.most_common()))
    lines.append(f"took {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replay", default="tests/fixtures", help="recording to replay (REPLAY)")
    parser.add_argument("--archive", default="", help="the archive (ARCHIVE_URI; default: the setting, else ./archive)")
    parser.add_argument("spiders", nargs="*", help="default: every site spider")
    args = parser.parse_args(argv)
    spiders = args.spiders or [name for name in all_rules() if name != "generic"]
    started = time.monotonic()
    try:
        stats, archive = run(args.replay, args.archive, spiders)
    except ArchiveLocked as exc:
        print(f"{exc}: not crawling", file=sys.stderr)
        return EXIT_LOCKED
    except ArchiveError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ARCHIVE
    print(summary(stats, archive, time.monotonic() - started))
    statuses = {name: s.get("run/exit_status", EXIT_SCRAPY) for name, s in stats.items()}
    if failed := {name: status for name, status in statuses.items() if status}:
        print("crawls that did not end well (exit statuses, README): "
              + ", ".join(f"{name} {status}" for name, status in failed.items()), file=sys.stderr)
        return max(failed.values())
    return 0


if __name__ == "__main__":
    sys.exit(main())
