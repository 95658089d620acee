"""The distributed-crawl benchmark: throughput with 1, 2 and 3 workers sharing one crawl.

``python -m bench.distributed [--articles 400] [--latency 1.0] [--workers 1 2 3] [--concurrency 4]``
starts a real ``redis-server`` and the loopback site of tests/gridsite.py answering every request
``--latency`` seconds late (a site far away: a crawl waits on the network, not on the 2 cores), then
crawls it from scratch with each number of workers (``scrapy crawl news -a site=... -s REDIS_URL=...``,
the product's settings but for the politeness a loopback site does not need: each worker keeps
``--concurrency`` requests in flight, no delay, no shared per-host limit). For each it reports
pages per second (articles archived over the wall time from the first start to the last exit), CPU
milliseconds per page of all the workers' processes, and whether every article was archived once.

Then, with ``--polite N`` articles (0 to skip), the same site crawled by 3 workers under the
distributed profile's default limits (one process's: ``1 / DOWNLOAD_DELAY`` requests per second
per host), to show that more workers do not fetch a site faster than one. It writes
``bench/reports/distributed-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redisserver import RedisServer  # noqa: E402

BIN = Path(sys.executable).parent


@dataclass
class Run:
    name: str
    workers: int
    articles: int
    archived: int
    fetched_twice: int
    seconds: float
    cpu_ms_per_page: float
    requests_per_second_at_server: float

    @property
    def pages_per_second(self) -> float:
        return self.archived / self.seconds if self.seconds else 0.0


def start_site(folder: Path, articles: int, latency: float) -> tuple[subprocess.Popen, str, Path]:
    portfile, log = folder / "port", folder / "requests.log"
    process = subprocess.Popen([sys.executable, "-m", "tests.gridsite", str(portfile), str(log), "--articles",
                                str(articles), "--latency", str(latency)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not (portfile.exists() and portfile.read_text()):
        if time.monotonic() > deadline:
            raise RuntimeError("the site did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{portfile.read_text()}", log


def crawl(name: str, workers: int, articles: int, base: str, log: Path, redis: RedisServer, work: Path,
          settings: dict[str, str]) -> Run:
    redis.flush()
    log.write_text("")
    archive = work / f"archive-{name}"
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY", "REDIS_URL")}
    command = [str(BIN / "scrapy"), "crawl", "news", "-a", f"site={base}/", "-s", f"ARCHIVE_URI={archive}",
               "-s", f"REDIS_URL={redis.url}", "-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1", "-s", "LOG_LEVEL=INFO",
               "-s", "EXTRACTION_WORKERS=1"]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    processes = []
    for n in range(workers):
        with (work / f"{name}-worker{n}.log").open("w") as err:
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err))
    codes = [p.wait() for p in processes]
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if any(codes):
        raise RuntimeError(f"{name}: workers exited {codes}; logs in {work}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    requests = [line.split() for line in log.read_text().splitlines()]
    paths = [path for _, path in requests if path.startswith("/news/")]
    archived = sum(1 for path in (archive / "text").rglob("*.txt"))
    times = sorted(float(at) for at, _ in requests)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
    return Run(name, workers, articles, archived, len(paths) - len(set(paths)), seconds,
               1000 * cpu / max(archived, 1), rate)


def report(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [
        f"# Distributed crawl benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"{args.articles} articles on a loopback site answering {args.latency} s late (tests/gridsite.py), "
        f"a real redis-server, {os.cpu_count()} cores; each worker keeps {args.concurrency} requests in flight.",
        "",
        "| run | workers | articles archived | fetched twice | seconds | pages/s | CPU ms/page | requests/s at the site |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(f"| {run.name} | {run.workers} | {run.archived} / {run.articles} | {run.fetched_twice} | "
                     f"{run.seconds:.1f} | {run.pages_per_second:.1f} | {run.cpu_ms_per_page:.1f} | "
                     f"{run.requests_per_second_at_server:.2f} |")
    first = next((r for r in runs if r.workers == 1 and r.name.startswith("workers")), None)
    if first:
        lines += ["", "Speed-up over one worker: " + ", ".join(
            f"{r.workers} workers {r.pages_per_second / first.pages_per_second:.2f}x"
            for r in runs if r.name.startswith("workers"))]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--polite", type=int, default=120, help="articles of the politeness run (0: none)")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        work = Path(tmp)
        redis = RedisServer(work / "redis").start()
        site, base, log = start_site(work, args.articles, args.latency)
        try:
            fast = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "HOST_RATE_LIMIT": "0",
                    # CONCURRENT_REQUESTS, not _PER_DOMAIN: Scrapy 2.19 lets one slot take every request
                    # when there is no delay (scrapy/scrapy#6982), so only the total holds a worker to it.
                    "HOST_CONCURRENCY_LIMIT": "0", "CONCURRENT_REQUESTS": str(args.concurrency),
                    "RELATED_DEPTH": "0"}
            for workers in args.workers:
                print(f"Crawling {args.articles} articles with {workers} worker(s)...", flush=True)
                runs.append(crawl(f"workers-{workers}", workers, args.articles, base, log, redis, work, fast))
            if args.polite:
                site.terminate()
                site.wait()
                (work / "polite").mkdir()
                site, base, log = start_site(work / "polite", args.polite, args.latency)
                for workers in (1, 3):
                    print(f"Crawling {args.polite} articles with {workers} worker(s), default shared limits...", flush=True)
                    runs.append(crawl(f"polite-{workers}", workers, args.polite, base, log, redis, work, {"RELATED_DEPTH": "0"}))
        finally:
            site.terminate()
            site.wait()
            redis.stop()
    text = report(runs, args)
    print(text)
    reports = ROOT / "bench" / "reports"
    reports.mkdir(exist_ok=True)
    day = f"{datetime.now(timezone.utc):%Y-%m-%d}"
    (reports / f"distributed-{day}.md").write_text(text)
    (reports / f"distributed-{day}.json").write_text(json.dumps(
        [{**asdict(r), "pages_per_second": r.pages_per_second} for r in runs], indent=2) + "\n")


if __name__ == "__main__":
    main()
