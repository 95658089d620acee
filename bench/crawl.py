"""The crawl benchmark: the whole product next to trafilatura alone, wget, and a two-step shell script.

``python -m bench.crawl [--articles 1000 [10000 ...]] [--seed 1] [--phases ...]`` generates a news
site (bench/site.py: articles of 60 to 150 KiB, deterministic for a seed), serves it with nginx on
loopback with gzip, and runs over its articles, one phase after the other, in one run:

- ``trafilatura``: ``trafilatura.extract`` over the site's files, in as many processes as cores:
  the limit, what extraction alone costs;
- ``wget``: ``wget -i urls`` (one connection, files written, gzip asked for);
- ``wget-warc``: the same with ``--warc-file``;
- ``two-step``: ``wget --warc-file``, then trafilatura over the files it wrote (the shell script a
  user could write instead of the product);
- ``archive-only``: ``scrapy crawl news -a urls_file=...`` with ``EXTRACTION_ENABLED=False``;
- ``product``: the same with everything on (WARC, extraction, text store, stories).

The crawls run with the product's settings, but for the politeness a loopback server does not need
(no delay, no AutoThrottle, 16 parallel requests) and related links (0 hops: every phase fetches the
same pages). For each phase it reports the pages per second, the CPU milliseconds per page of each
kind of process (from /proc, sampled every 0.1 s; the total from the kernel's accounting of waited
children), the peak resident memory of the process tree, and the CPU other programs used meanwhile
(a busy machine makes one run noisy). It prints the ratios of issue #13 and writes
``bench/reports/crawl-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.site import generate  # noqa: E402
from tests.nginx import Nginx  # noqa: E402
from tests.processes import descendants  # noqa: E402

BIN = Path(sys.executable).parent
PHASES = ("trafilatura", "wget", "wget-warc", "two-step", "archive-only", "product")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
GZIP = "gzip on; gzip_comp_level 1; gzip_types application/xml text/plain; gzip_min_length 256;"
# What a loopback server does not need; everything else is the product's defaults.
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "RELATED_DEPTH": "0", "PRIVATE_ADDRESS_ALLOWLIST": "127.0.0.1",
    "LOG_LEVEL": "INFO",
}
# A phase during which other programs used this much of a core on average is marked busy.
BUSY_CORES = 0.15


# -- measuring a process tree --------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(CPU ticks, RSS kB) of one process, or None when it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime 14, stime 15, rss (pages) 24.
    return int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE_KB


def role(cmdline: str) -> str:
    """What a process of a phase is, by its command line."""
    if "multiprocessing" in cmdline:
        if "resource_tracker" in cmdline:
            return "resource tracker"
        return "extraction worker" if "spawn" in cmdline else "trafilatura worker"
    if "scrapy" in cmdline:
        return "crawl"
    if cmdline.startswith("wget") or "/wget " in cmdline:
        return "wget"
    if "bench.crawl" in cmdline:
        return "trafilatura"
    return cmdline.split(" ", 1)[0].rsplit("/", 1)[-1]


def busy_ticks() -> int:
    """CPU ticks all programs of the machine used so far (every core: not idle, not waiting)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return user + nice + system + irq + softirq + steal


@dataclass
class TreeMonitor:
    """Samples the CPU and memory of a process and everything it starts, every ``interval`` s."""

    root: int
    interval: float = 0.1
    cpu_ticks: dict[int, int] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    peak_rss_kb: int = 0
    peak_by_role: dict[str, int] = field(default_factory=dict)

    def run(self, done: threading.Event) -> None:
        while not done.is_set():
            total = 0
            rss_by_role: dict[str, int] = {}
            for process in descendants(self.root):
                sample = _stat(process.pid)
                if sample is None:
                    continue
                self.roles.setdefault(process.pid, role(process.cmdline))
                self.cpu_ticks[process.pid] = sample[0]
                total += sample[1]
                name = self.roles[process.pid]
                rss_by_role[name] = max(rss_by_role.get(name, 0), sample[1])
            self.peak_rss_kb = max(self.peak_rss_kb, total)
            for name, rss in rss_by_role.items():
                self.peak_by_role[name] = max(self.peak_by_role.get(name, 0), rss)
            done.wait(self.interval)

    def cpu_by_role(self) -> dict[str, float]:
        seconds: dict[str, float] = {}
        for pid, ticks in self.cpu_ticks.items():
            seconds[self.roles[pid]] = seconds.get(self.roles[pid], 0.0) + ticks / TICKS
        return seconds


@dataclass
class Phase:
    name: str
    articles: int
    seconds: float = 0.0
    returncode: int = 0
    cpu_seconds: float = 0.0  # every process of the phase (the kernel's accounting)
    cpu_by_role: dict[str, float] = field(default_factory=dict)
    server_cpu_seconds: float = 0.0  # nginx, serving the phase
    other_cores: float = 0.0  # what other programs used meanwhile, in cores
    peak_rss_mb: float = 0.0
    peak_rss_by_role_mb: dict[str, float] = field(default_factory=dict)
    outputs: int = 0  # article records, extracted texts or files fetched
    note: str = ""

    @property
    def pages_per_second(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0

    def cpu_ms_per_page(self, of: str | None = None) -> float:
        seconds = self.cpu_seconds if of is None else self.cpu_by_role.get(of, 0.0)
        return 1000 * seconds / self.articles

    @property
    def busy(self) -> bool:
        return self.other_cores > BUSY_CORES


def run_phase(name: str, articles: int, command: list[str], server_pids: list[int], env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> tuple[Phase, str]:
    """Run one phase's command to its end; returns its measures and its stderr's tail."""
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = sum((_stat(pid) or (0, 0))[0] for pid in server_pids)
    machine_before = busy_ticks()
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        monitor, done = TreeMonitor(process.pid), threading.Event()
        sampler = threading.Thread(target=monitor.run, args=(done,), daemon=True)
        sampler.start()
        returncode = process.wait()
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
        errors.seek(0)
        log = errors.read()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    server = (sum((_stat(pid) or (0, 0))[0] for pid in server_pids) - server_before) / TICKS
    machine = (busy_ticks() - machine_before) / TICKS
    phase = Phase(
        name, articles, seconds, returncode, cpu, monitor.cpu_by_role(), server,
        other_cores=max(0.0, machine - cpu - server) / seconds, peak_rss_mb=monitor.peak_rss_kb / 1024,
        peak_rss_by_role_mb={k: v / 1024 for k, v in monitor.peak_by_role.items()},
    )
    return phase, log[-3000:]


# -- the phases ----------------------------------------------------------------------------


def extract_files(folder: Path, base: str, processes: int) -> int:
    """trafilatura.extract over every article file of ``folder``; the number of texts it found."""
    import multiprocessing

    paths = [line for line in (folder / "paths.txt").read_text().splitlines() if line]
    jobs = [(folder / path.lstrip("/"), base + path) for path in paths]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return sum(pool.imap_unordered(_extract_file, jobs, chunksize=8))


def _extract_file(job: tuple[Path, str]) -> int:
    import trafilatura

    path, url = job
    return 1 if trafilatura.extract(path.read_bytes(), url=url) else 0


def _wget(urls: Path, out: Path, warc: bool) -> list[str]:
    command = ["wget", "--quiet", "--compression=auto", "--force-directories", "--directory-prefix", str(out),
               "--input-file", str(urls)]
    return command + ([f"--warc-file={out}/bench"] if warc else [])


def _crawl(urls: Path, archive: Path, extraction: bool) -> list[str]:
    command = [str(BIN / "scrapy"), "crawl", "news", "-a", f"urls_file={urls}", "-s", f"ARCHIVE_URI={archive}"]
    for name, value in {**CRAWL_SETTINGS, "EXTRACTION_ENABLED": str(extraction)}.items():
        command += ["-s", f"{name}={value}"]
    return command


def _count_files(folder: Path, suffix: str) -> int:
    return sum(1 for _ in folder.rglob(f"*{suffix}"))


def _count_records(archive: Path) -> int:
    return sum(sum(1 for _ in path.open()) for path in archive.glob("items/*/*.jsonl") if not path.name.endswith(".stories.jsonl"))


def _crawl_environment() -> dict[str, str]:
    # Product settings from the environment would change what is measured.
    from crawler.addon import DEFAULTS

    return {k: v for k, v in os.environ.items() if k not in DEFAULTS and k not in ("ARCHIVE_URI", "REPLAY")}


def baseline_checkout(ref: str, work: Path) -> Path:
    """The product at git revision ``ref``, checked out in ``work`` (to measure it in the same run)."""
    folder = work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(folder), ref],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return folder


def measure(articles: int, seed: int, phases: list[str], work: Path, repeat: int = 1,
            baseline: Path | None = None, baseline_name: str = "") -> list[Phase]:
    site, server_root = work / "site", work / "nginx"
    site.mkdir()
    cores = os.cpu_count() or 1
    with Nginx(site, server_root, http_extra=GZIP) as server:
        print(f"Generating {articles} articles (seed {seed})...", flush=True)
        paths = generate(site, articles, server.base, seed)
        urls = work / "urls.txt"
        urls.write_text("".join(server.base + path + "\n" for path in paths))
        server_pids = [p.pid for p in descendants(server.process.pid)]
        env = _crawl_environment()
        runs = []  # each phase of the baseline right after the same phase now: the fairest comparison
        for name in phases:
            runs.append((name, None))
            if baseline is not None and name in ("archive-only", "product"):
                runs.append((name, baseline))
        best: dict[str, Phase] = {}
        for name, checkout in runs * repeat:
            label = f"{name} ({baseline_name})" if checkout else name
            out = work / name
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            if name == "trafilatura":
                command = [sys.executable, "-m", "bench.crawl", "extract-files", str(site), server.base, str(cores)]
            elif name in ("wget", "wget-warc"):
                command = _wget(urls, out, warc=name == "wget-warc")
            elif name == "two-step":
                fetched = out / _host_folder(server.base)
                command = ["bash", "-c", f"{' '.join(_wget(urls, out, warc=True))} && cp {site}/paths.txt {fetched}/ && "
                           f"{sys.executable} -m bench.crawl extract-files {fetched} {server.base} {cores}"]
            else:
                command = _crawl(urls, out / "archive", extraction=name == "product")
            print(f"  {label}...", end=" ", flush=True)
            phase_env, cwd = env, ROOT
            if checkout is not None:  # the old product's modules first, and its scrapy.cfg
                phase_env, cwd = {**env, "PYTHONPATH": str(checkout)}, checkout
            phase, log = run_phase(label, articles, command, server_pids, env=phase_env, cwd=cwd)
            if name in ("product", "archive-only"):
                phase.outputs = _count_records(out / "archive") if name == "product" else _count_files(out / "archive", ".warc.gz")
                phase.note = "records" if name == "product" else "WARC files"
            elif name.startswith("wget"):
                phase.outputs = _count_files(out, ".html")
                phase.note = "files"
            else:
                phase.outputs = _texts_counted(log)
                phase.note = "texts"
            if phase.returncode != 0:
                phase.note += f"; exit status {phase.returncode}: {log.strip().splitlines()[-1] if log.strip() else ''}"
            print(f"{phase.seconds:.1f} s, {phase.pages_per_second:.1f} pages/s", flush=True)
            if label not in best or phase.seconds < best[label].seconds:
                best[label] = phase  # the best of the repeats: noise only ever slows a run down
            shutil.rmtree(out, ignore_errors=True)
    return list(best.values())


def _host_folder(base: str) -> str:
    """The folder wget --force-directories writes a host's files in: ``host:port``."""
    return base.split("//", 1)[1]


TEXTS = "texts: "


def _texts_counted(log: str) -> int:
    lines = [line for line in log.splitlines() if line.startswith(TEXTS)]
    return int(lines[-1][len(TEXTS):]) if lines else 0


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    numerator: str
    denominator: str
    goal: float
    floor: float | None = None


TARGETS = (
    Target("product / trafilatura alone (pages/s)", "product", "trafilatura", 0.9, 0.8),
    Target("product / two-step (pages/s)", "product", "two-step", 1.3),
    Target("archive-only / wget --warc-file (pages/s)", "archive-only", "wget-warc", 1.0),
)
MEMORY_BUDGET_MB = 400


def ratios(phases: list[Phase]) -> list[tuple[Target, str, float | None]]:
    """Each target's ratio, for the product now and for the baseline (``product (REF)``) when measured."""
    by_name = {phase.name: phase for phase in phases}
    found = []
    for target in TARGETS:
        bottom = by_name.get(target.denominator)
        for name in [target.numerator] + [n for n in by_name if n.startswith(f"{target.numerator} (")]:
            top = by_name.get(name)
            value = top.pages_per_second / bottom.pages_per_second if top and bottom and bottom.pages_per_second else None
            found.append((target, name, value))
    return found


def _verdict(target: Target, value: float | None) -> str:
    if value is None:
        return "not measured"
    if value >= target.goal:
        return "met"
    return "floor met" if target.floor is not None and value >= target.floor else "NOT met"


def report(runs: dict[int, list[Phase]], seed: int) -> tuple[str, dict]:
    now = datetime.now(timezone.utc)
    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "unknown CPU")
    lines = [f"# Crawl benchmark, {now:%Y-%m-%d %H:%M} UTC", "",
             f"{os.cpu_count()} cores ({cpu_model}); generated site, seed {seed}; nginx on loopback with gzip.", ""]
    data: dict = {"date": now.isoformat(timespec="seconds"), "cores": os.cpu_count(), "cpu": cpu_model, "seed": seed,
                  "runs": []}
    for articles, phases in runs.items():
        roles = sorted({name for phase in phases for name in phase.cpu_by_role if phase.cpu_by_role[name] > 0.05})
        lines += [f"## {articles:,} articles", "",
                  "| phase | pages/s | s | CPU ms/page | " + " | ".join(f"{r} ms/page" for r in roles)
                  + " | nginx ms/page | peak RSS MB | output | other load |",
                  "|---|---|---|---|" + "---|" * len(roles) + "---|---|---|---|"]
        for phase in phases:
            lines.append(
                f"| {phase.name} | {phase.pages_per_second:.1f} | {phase.seconds:.1f} | {phase.cpu_ms_per_page():.1f} | "
                + " | ".join(f"{phase.cpu_ms_per_page(r):.1f}" if r in phase.cpu_by_role else "" for r in roles)
                + f" | {1000 * phase.server_cpu_seconds / articles:.1f} | {phase.peak_rss_mb:.0f} | "
                f"{phase.outputs} {phase.note} | {phase.other_cores:.2f} cores{' (BUSY)' if phase.busy else ''} |")
        lines += ["", "| ratio | value | target | |", "|---|---|---|---|"]
        found = ratios(phases)
        for target, name, value in found:
            goal = f">= {target.goal}" + (f" (floor {target.floor})" if target.floor else "")
            label = target.name.replace(target.numerator, name, 1)
            lines.append(f"| {label} | {'-' if value is None else f'{value:.2f}'} | {goal} | {_verdict(target, value)} |")
        limit = next((p for p in phases if p.name == "trafilatura"), None)
        for product in (p for p in phases if p.name.startswith("product")):
            if limit:
                lines.append(f"| {product.name} / trafilatura alone (CPU per page) | "
                             f"{product.cpu_ms_per_page() / limit.cpu_ms_per_page():.2f} | | |")
            lines.append(f"| peak RSS of the {product.name} tree | {product.peak_rss_mb:.0f} MB | <= {MEMORY_BUDGET_MB} MB | "
                         f"{'met' if product.peak_rss_mb <= MEMORY_BUDGET_MB else 'NOT met'} |")
        if any(phase.busy for phase in phases):
            lines += ["", f"Phases marked BUSY ran while other programs used over {BUSY_CORES} of a core: "
                          "their figures are less reliable."]
        lines.append("")
        data["runs"].append({
            "articles": articles,
            "phases": [{**asdict(phase), "pages_per_second": phase.pages_per_second,
                        "cpu_ms_per_page": phase.cpu_ms_per_page()} for phase in phases],
            "ratios": {target.name.replace(target.numerator, name, 1): value for target, name, value in found},
        })
    sizes = sorted(runs)
    if len(sizes) > 1:
        lines += ["## From the smallest to the largest run", "", "| | " + " | ".join(f"{n:,}" for n in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for label, value in (("product CPU ms/page", lambda p: f"{p.cpu_ms_per_page():.1f}"),
                             ("product pages/s", lambda p: f"{p.pages_per_second:.1f}"),
                             ("product peak RSS MB", lambda p: f"{p.peak_rss_mb:.0f}")):
            cells = []
            for n in sizes:
                product = next((p for p in runs[n] if p.name == "product"), None)
                cells.append(value(product) if product else "-")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines), data


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "extract-files":  # a phase's own process
        folder, base, processes = argv[1:4]
        print(f"{TEXTS}{extract_files(Path(folder), base, int(processes))}", file=sys.stderr)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[1000], help="site sizes (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="the generated site's seed")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES), help="run only these")
    parser.add_argument("--repeat", type=int, default=1, help="run every phase this many times, keep the fastest")
    parser.add_argument("--baseline", metavar="GIT_REF", help="also measure the product at this revision (archive-only, product)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the site and outputs (default: a temporary one)")
    options = parser.parse_args(argv)
    if shutil.which("wget") is None and {"wget", "wget-warc", "two-step"} & set(options.phases):
        parser.error("wget not found: install it (apt-get install wget) or leave its phases out with --phases")
    runs = {}
    for articles in options.articles:
        with tempfile.TemporaryDirectory(dir=options.work) as work:
            baseline = baseline_checkout(options.baseline, Path(work)) if options.baseline else None
            try:
                runs[articles] = measure(articles, options.seed, options.phases, Path(work), options.repeat,
                                         baseline, options.baseline or "")
            finally:
                if baseline is not None:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text, data = report(runs, options.seed)
    print("\n" + text)
    reports = ROOT / "bench" / "reports"
    reports.mkdir(exist_ok=True)
    stem = f"crawl-{datetime.now(timezone.utc):%Y-%m-%d}"
    (reports / f"{stem}.md").write_text(text)
    (reports / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(f"Report: bench/reports/{stem}.md")
    failed = [p for phases in runs.values() for p in phases if p.returncode != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
