"""``scrapy workers SPIDER``: the distributed crawl of a spider as its workers share it in Redis.

The queue (requests waiting, URLs pushed, requests seen this run, requests leased), every live
worker (heartbeat age, leased requests, pages, articles, revisits, errors, bytes; each renews its
figures every quarter of ``REDIS_LEASE``) and every host (requests sent in the last 60 s: the
rate the shared limits let through, and in flight now when a concurrency limit is set). ``--json`` for a monitor; ``watch -n 5
scrapy workers SPIDER`` to follow a crawl (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler import distributed
from crawler.outcome import EXIT_REDIS, EXIT_USAGE

logger = logging.getLogger(__name__)


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "SPIDER [--json]"

    def short_desc(self) -> str:
        return "Show the distributed crawl of a spider (REDIS_URL): queue, workers, per-host rates"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give the spider's name")
        if not distributed.enabled(self.settings):
            logger.error("REDIS_URL is not set (-s REDIS_URL=redis://host:port/db, or the environment)")
            self.exitcode = EXIT_USAGE
            return
        try:
            server = distributed.redis_server(self.settings)
            report = distributed.crawl_report(server, distributed.crawl_keys(self.settings, args[0]))
        except Exception as exc:  # noqa: BLE001 - redis-py's errors: one line
            logger.error("cannot reach Redis at %s: %s", distributed.redacted_url(self.settings), exc)
            self.exitcode = EXIT_REDIS
            return
        print(json.dumps(report, indent=2) if opts.json else text(report, distributed.redacted_url(self.settings)))


def text(report: dict[str, Any], where: str) -> str:
    lines = [f"Distributed crawl {report['crawl']} at {where}, run {report['run'] or '(none running)'}",
             f"  queue    {report['queued']} requests waiting, {report['pushed']} URLs pushed, "
             f"{report['leased']} leased, {report['seen']} seen this run"]
    workers = report["workers"]
    lines.append(f"  workers  {len(workers)} live" + (f", {report['starting']} starting" if report["starting"] else ""))
    for name, w in workers.items():
        lines.append(f"    {name}  heartbeat {w['heartbeat_age_s']} s ago, {w['leased']} leased, {w.get('pages', 0)} pages, "
                     f"{w.get('articles', 0)} articles, {w.get('revisits', 0)} revisits, {w.get('errors', 0)} errors, "
                     f"{w.get('bytes', 0)} bytes")
    lines.append(f"  hosts    {len(report['hosts'])}" + (" (requests/s over the last 60 s, in flight now)" if report["hosts"] else ""))
    for host, h in report["hosts"].items():
        in_flight = f", {h['in_flight']} in flight" if "in_flight" in h else ""
        lines.append(f"    {host}  {h['requests_per_second']}/s ({h.get('requests_last_60s', 0)} in the last 60 s){in_flight}")
    return "\n".join(lines)
