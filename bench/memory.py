"""Peak memory of a whole crawl: the `news` spider on the hostile site (tests/hostilesite.py).

``python -m bench.memory [--workers N] [--runs N]`` serves the hostile site on loopback, runs
``scrapy crawl news`` over every case with the product's default settings (only the loopback
allowlist and a short download timeout added), and samples every 50 ms the resident memory
(RSS and PSS, from /proc/<pid>/smaps_rollup) of the crawl and all its descendants: extraction workers, their resource
tracker. It reports the peak of the sum, the peak of each process, the duration, and writes
``bench/reports/memory.md``. The budget of issue #12 is 500 MB for the tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import descendants

BIN = Path(sys.executable).parent
BUDGET_MB = 500


def _memory_kb(pid: int) -> tuple[int, int]:
    """Resident set and proportional set size (shared pages split between their users), in kB."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


@dataclass
class Sampler:
    root: int
    interval: float = 0.05
    peak_total_kb: int = 0
    peak_pss_kb: int = 0
    peak_by_process: dict[int, tuple[str, int]] = field(default_factory=dict)
    samples: int = 0

    def run(self, done: threading.Event) -> None:
        while not done.is_set():
            total = total_pss = 0
            for process in descendants(self.root):
                rss, pss = _memory_kb(process.pid)
                total += rss
                total_pss += pss
                name, peak = self.peak_by_process.get(process.pid, (_role(process.cmdline), 0))
                self.peak_by_process[process.pid] = (name, max(peak, rss))
            self.peak_total_kb = max(self.peak_total_kb, total)
            self.peak_pss_kb = max(self.peak_pss_kb, total_pss)
            self.samples += 1
            done.wait(self.interval)


def _role(cmdline: str) -> str:
    if "multiprocessing" in cmdline:
        return "resource tracker" if "resource_tracker" in cmdline else "extraction worker"
    return "scrapy crawl" if "scrapy" in cmdline else cmdline[:60]


def measure(workers: int | None) -> tuple[Sampler, float, int, str]:
    from tests.hostilesite import HostileSite  # the site lives with the tests

    with tempfile.TemporaryDirectory() as tmp, HostileSite() as site:
        urls = [site.url(case.path) for case in site.cases]
        Path(tmp, "urls.txt").write_text("\n".join(urls) + "\n")
        args = [str(BIN / "scrapy"), "crawl", "news", "-a", f"urls_file={tmp}/urls.txt",
                "-s", f"ARCHIVE_URI={tmp}/archive", "-s", "PRIVATE_ADDRESS_ALLOWLIST=127.0.0.1",
                "-s", "DOWNLOAD_TIMEOUT=4", "-s", "LOG_LEVEL=WARNING"]
        env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY", "EXTRACTION_WORKERS")}
        if workers is not None:
            env["EXTRACTION_WORKERS"] = str(workers)
        started = time.monotonic()
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sampler, done = Sampler(process.pid), threading.Event()
        thread = threading.Thread(target=sampler.run, args=(done,), daemon=True)
        thread.start()
        _, log = process.communicate()
        done.set()
        thread.join()
        return sampler, time.monotonic() - started, process.returncode, log


def report(sampler: Sampler, seconds: float, returncode: int, workers: int | None) -> str:
    peak_mb = sampler.peak_total_kb / 1024
    lines = [
        "# Memory: the `news` spider on the hostile site",
        "",
        (f"- extraction workers: {workers if workers is not None else 'default (EXTRACTION_WORKERS=0)'}, "
         f"cores: {os.cpu_count()}"),
        f"- crawl: {seconds:.1f} s, exit status {returncode}, {sampler.samples} samples",
        (f"- **peak RSS of the process tree: {peak_mb:.0f} MB** (budget {BUDGET_MB} MB: "
         f"{'within' if peak_mb <= BUDGET_MB else 'OVER'})"),
        f"- peak PSS of the process tree (shared libraries counted once): {sampler.peak_pss_kb / 1024:.0f} MB",
        "",
        "| process | peak RSS (MB) |",
        "|---|---|",
    ]
    for name, peak in sorted(sampler.peak_by_process.values(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {peak / 1024:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=None, help="EXTRACTION_WORKERS (default: the product's)")
    options = parser.parse_args()
    sampler, seconds, returncode, log = measure(options.workers)
    text = report(sampler, seconds, returncode, options.workers)
    print(text)
    if returncode != 0:
        print(log[-2000:], file=sys.stderr)
    reports = ROOT / "bench" / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "memory.md").write_text(text)


if __name__ == "__main__":
    main()
