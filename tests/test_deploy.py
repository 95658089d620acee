"""The server files of deploy/ (docs/server.md): systemd units, the cron alternative, Scrapyd's service.

``systemd-analyze verify`` checks the units where it exists (it is no service the product needs, so
it is skipped where missing, under CI too); the rest checks, in Python, that the files agree with
each other and with the product: the command they run, the paths they write, how they stop.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from crawler.settings import DOWNLOAD_TIMEOUT
from crawler.sites import all_rules
from tests.helpers import BIN, ROOT

DEPLOY = ROOT / "deploy"
SERVICE, TIMER = "news-archiver-crawl@.service", "news-archiver-crawl@.timer"
WORKER = "news-archiver-worker@.service"
ENV_FILE = "/etc/news-archiver/env"  # where docs/server.md installs deploy/env.example


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> values (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return sections


def env_example() -> dict[str, str]:
    """The settings deploy/env.example sets (commented-out examples left out)."""
    pairs = (line.split("=", 1) for line in (DEPLOY / "env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {name: value.strip('"') for name, value in pairs}


def seconds(span: str) -> float:
    """A systemd time span such as ``10min``, ``90s`` or ``1h``."""
    units = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    return sum(float(n) * units[u or "s"] for n, u in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span))


def site_spiders() -> list[str]:
    return sorted(name for name in all_rules() if name != "generic")


def test_units_pass_systemd_analyze_verify(tmp_path):
    program = shutil.which("systemd-analyze")
    if program is None:
        pytest.skip("systemd-analyze not found: the unit files were not verified (install systemd to check them)")
    spider = site_spiders()[0]
    install_bin = f"{unit(SERVICE)['Service']['WorkingDirectory'][0]}/.venv/bin/"
    names = {SERVICE: f"news-archiver-crawl@{spider}.service", TIMER: f"news-archiver-crawl@{spider}.timer",
             "scrapyd.service": "scrapyd.service", WORKER: "news-archiver-worker@1.service"}
    for name, instance in names.items():
        # verify wants the programs to exist: this machine's virtualenv stands in for the install's.
        text = (DEPLOY / name).read_text().replace(install_bin, f"{BIN}/")
        (tmp_path / instance).write_text(text)
    result = subprocess.run([program, "verify", *(str(tmp_path / n) for n in names.values())],
                            capture_output=True, text=True, timeout=60, check=False)
    about_ours = [line for line in (result.stdout + result.stderr).splitlines()
                  if any(n.split("@")[0] in line for n in names.values())]
    assert result.returncode == 0 and not about_ours, result.stdout + result.stderr


def test_crawl_service_runs_scrapy_crawl_of_its_instance_from_the_install_dir():
    service = unit(SERVICE)["Service"]
    install = service["WorkingDirectory"][0]
    venv = re.search(r"^VENV\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)[1]
    assert service["ExecStart"] == [f"{install}/{venv}/bin/scrapy crawl %i"]
    assert (BIN / "scrapy").is_file() and (ROOT / "scrapy.cfg").is_file()  # what `make` leaves in a checkout


def test_timer_starts_the_crawl_of_its_spider_every_15_minutes_without_a_burst():
    timer = unit(TIMER)
    assert timer["Timer"]["Unit"] == [SERVICE.replace("@", "@%i")]
    assert timer["Timer"]["OnCalendar"] == ["*:0/15"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert seconds(timer["Timer"]["RandomizedDelaySec"][0]) > 0
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_crawl_service_may_write_where_the_env_file_puts_the_archive_and_spool():
    service = unit(SERVICE)["Service"]
    assert service["EnvironmentFile"][0] == ENV_FILE
    assert service["ProtectSystem"] == ["strict"]
    writable = [PurePosixPath(p) for p in service["ReadWritePaths"][0].split()]
    env = env_example()
    for name in ("ARCHIVE_URI", "SPOOL_DIR"):
        assert any(PurePosixPath(env[name]).is_relative_to(p) for p in writable), (name, env[name], writable)


def test_crawl_service_stops_scrapy_alone_with_time_for_a_graceful_shutdown():
    service = unit(SERVICE)["Service"]
    # The signal goes to Scrapy only: its extraction workers must live until it has drained them.
    assert service["KillMode"] == ["mixed"]
    assert seconds(service["TimeoutStopSec"][0]) >= 4 * DOWNLOAD_TIMEOUT


def test_worker_service_runs_the_spider_its_env_file_names_with_redis():
    service = unit(WORKER)["Service"]
    install = unit(SERVICE)["Service"]["WorkingDirectory"][0]
    assert service["WorkingDirectory"] == [install]
    assert service["ExecStart"] == [f"{install}/.venv/bin/scrapy crawl ${{SPIDER}}"]
    assert service["EnvironmentFile"] == [ENV_FILE, "/etc/news-archiver/worker.env"]
    example = dict(line.split("=", 1) for line in (DEPLOY / "worker.env.example").read_text().splitlines()
                   if line.strip() and not line.startswith("#"))
    assert example["SPIDER"] in site_spiders()
    assert example["REDIS_URL"].startswith("redis://")


def test_a_dead_worker_is_replaced_but_not_one_that_cannot_work():
    service = unit(WORKER)["Service"]
    assert service["Restart"] == ["on-failure"]
    from crawler.outcome import EXIT_LOCKED, EXIT_REDIS, EXIT_USAGE

    assert set(service["RestartPreventExitStatus"][0].split()) == {str(EXIT_USAGE), str(EXIT_LOCKED), str(EXIT_REDIS)}
    assert service["KillMode"] == ["mixed"]
    assert service["ProtectSystem"] == ["strict"]


def test_cron_example_crawls_each_spider_under_its_own_lock_into_a_rotated_log():
    rotated = (DEPLOY / "logrotate" / "news-archiver").read_text().split("{")[0].split()
    jobs = [line for line in (DEPLOY / "news-archiver.cron").read_text().splitlines()
            if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert jobs
    for job in jobs:
        command = shlex.split(job.split(None, 6)[6])
        spider = command[command.index("crawl") + 1]
        assert spider in site_spiders()
        assert command[command.index("flock"):command.index("crawl")] == [
            "flock", "-n", f"/run/lock/news-archiver-{spider}.lock", ".venv/bin/scrapy"]
        log = next(word.removeprefix(">>") for word in command if word.startswith(">>"))
        assert any(fnmatch.fnmatch(log, pattern) for pattern in rotated), (log, rotated)


def test_scrapyd_service_runs_the_installs_scrapyd_outside_the_checkout():
    service = unit("scrapyd.service")["Service"]
    install = unit(SERVICE)["Service"]["WorkingDirectory"][0]
    assert service["ExecStart"] == [f"{install}/.venv/bin/scrapyd"]
    # Jobs run in Scrapyd's folder: from the checkout they would import its code, not the deployed egg.
    assert not Path(service["WorkingDirectory"][0]).is_relative_to(install)
    assert service["EnvironmentFile"] == [ENV_FILE]
