"""Scheduled crawls on Scrapyd: the project deployed as an egg to a real Scrapyd, a job run to the end.

A ``scrapyd`` is started on 127.0.0.1 in a folder of its own (its config, eggs, logs and databases
there, and no seed folder: jobs run from Scrapyd's folder), the project is deployed with
``scrapyd-deploy`` from a copy of its sources (so the build leaves nothing in the checkout), and a
replayed crawl is scheduled through the JSON API. Scrapyd and every process it started are killed at
the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.params import NewsSpiderParams, SpiderArgumentError
from tests.helpers import BIN, FIXTURES, ROOT

HOST = "127.0.0.1"
PROJECT = "news-archiver"
VERSION = "test"
SPIDER = "vietnamplus"  # its replayed crawl cites a seed: proof that the packaged seeds are read
SITE_SPIDERS = ["huengaynay", "lecourrier", "news", "nhandan", "sggp", "vietnamplus", "vietnamvn"]
JOB_TIMEOUT = 180.0
# What the egg is built from: the packaging files, the packages and the seed documents.
EGG_SOURCES = ["scrapy.cfg", "setup.py", "pyproject.toml", "README.md", "crawler", "pipelines", "archiving", "seeds"]


# -- Scrapyd's own spider arguments ------------------------------------------------------------


def test_scrapyd_job_and_version_arguments_are_accepted_and_kept():
    params = NewsSpiderParams.from_arguments({"_job": "f7eb8f88", "_version": "r42"})
    assert (params.scrapyd_job, params.scrapyd_version) == ("f7eb8f88", "r42")


def test_unknown_arguments_are_still_rejected_next_to_scrapyds():
    with pytest.raises(SpiderArgumentError, match="-a _jobs: Extra inputs are not permitted"):
        NewsSpiderParams.from_arguments({"_job": "f7eb8f88", "_jobs": "2"})


def test_a_seeds_folder_given_is_used_as_given(tmp_path):
    assert NewsSpiderParams.from_arguments({"seeds": str(tmp_path)}).seeds == tmp_path


# -- a real Scrapyd ----------------------------------------------------------------------------


def program(name: str) -> Path:
    """A program of the test virtualenv; missing: fails under CI=true (``make test`` installs it), else skips."""
    path = BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        message = f"{name} not found: install the test extras (pip install -e '.[test]'; {path} is missing)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to Scrapyd's whole process group (its jobs and their workers too), then SIGKILL to what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and group_alive(proc.pid):  # a job may outlive Scrapyd itself
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Scrapyd:
    """``scrapyd`` on a free loopback port, in ``home`` with its own scrapyd.conf."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.url = ""
        self.log = home / "scrapyd.out"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        scrapyd = program("scrapyd")
        for _attempt in range(3):  # another process may take the free port before Scrapyd binds it
            port = free_port()
            (self.home / "scrapyd.conf").write_text(
                "[scrapyd]\n"
                f"bind_address = {HOST}\nhttp_port = {port}\n"
                f"eggs_dir = {self.home / 'eggs'}\nlogs_dir = {self.home / 'logs'}\ndbs_dir = {self.home / 'dbs'}\n"
                "poll_interval = 0.5\n"
            )
            with self.log.open("ab") as out:
                # Its own session: stop() kills the process group, jobs included.
                self.proc = subprocess.Popen(
                    [scrapyd], cwd=self.home, env=isolated_env(self.home), stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            self.url = f"http://{HOST}:{port}/"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                with contextlib.suppress(OSError):  # not listening yet
                    if self.get("daemonstatus.json")["status"] == "ok":
                        return
                time.sleep(0.2)
            self.stop()
        raise RuntimeError(f"scrapyd did not start on {HOST}; its output:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def get(self, endpoint: str, **query: str) -> dict:
        url = self.url + endpoint + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> dict:
        data = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(self.url + endpoint, data=data, timeout=30) as response:
            return json.load(response)


def isolated_env(home: Path) -> dict[str, str]:
    """The environment without the product's settings, with HOME in the test folder
    (so no ~/.scrapyd.conf or ~/.scrapy.cfg of the developer is read)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY", "SCRAPY_SETTINGS_MODULE")}
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home)  # scrapyd-deploy's build folders land here, removed with it
    return env


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory) -> Iterator[Scrapyd]:
    server = Scrapyd(tmp_path_factory.mktemp("scrapyd"))
    program("scrapyd-deploy")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def deployed(scrapyd, tmp_path_factory) -> dict:
    """The project deployed with ``scrapyd-deploy`` from a copy of its sources; Scrapyd's answer."""
    source = tmp_path_factory.mktemp("project")
    for name in EGG_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    with (source / "scrapy.cfg").open("a") as cfg:
        cfg.write(f"\n[deploy:test]\nurl = {scrapyd.url}\nproject = {PROJECT}\n")
    result = subprocess.run(
        [program("scrapyd-deploy"), "test", "--version", VERSION, "--debug"],
        cwd=source, env=isolated_env(scrapyd.home), capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def job(scrapyd, deployed, tmp_path_factory) -> dict:
    """A replayed crawl scheduled through schedule.json and waited for: its archive, stats and logs."""
    out = tmp_path_factory.mktemp("job")
    archive, stats = out / "archive", out / "stats.json"
    answer = scrapyd.post("schedule.json", [
        ("project", PROJECT), ("spider", SPIDER), ("_version", VERSION),
        ("setting", f"REPLAY={FIXTURES}"), ("setting", f"ARCHIVE_URI={archive}"),
        ("setting", "EXTRACTION_WORKERS=1"), ("setting", f"STATS_FILE={stats}"),
    ])
    assert answer["status"] == "ok", answer
    job_id = answer["jobid"]
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        if any(j["id"] == job_id for j in scrapyd.get("listjobs.json", project=PROJECT)["finished"]):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"job {job_id} did not finish within {JOB_TIMEOUT:.0f} s; scrapyd:\n{scrapyd.output()[-3000:]}")
    log = scrapyd.home / "logs" / PROJECT / SPIDER / f"{job_id}.log"
    return {"id": job_id, "archive": archive, "stats": stats, "log": log, "cwd": scrapyd.home,
            "scrapyd_log": scrapyd.output()}


@pytest.mark.crawl
def test_deployed_egg_lists_the_seven_spiders(scrapyd, deployed):
    assert deployed["spiders"] == len(SITE_SPIDERS)
    assert sorted(scrapyd.get("listspiders.json", project=PROJECT)["spiders"]) == SITE_SPIDERS


@pytest.mark.crawl
def test_scheduled_job_exits_0(job):
    started = f"project='{PROJECT}' spider='{SPIDER}' job='{job['id']}'"
    assert f"Process finished: {started}" in job["scrapyd_log"], job["scrapyd_log"][-3000:]


@pytest.mark.crawl
def test_scheduled_job_is_given_scrapyds_job_and_version_arguments(job):
    started = next(line for line in job["scrapyd_log"].splitlines() if f"job='{job['id']}'" in line)
    assert f"'_job={job['id']}'" in started and f"'_version={VERSION}'" in started


@pytest.mark.crawl
def test_scheduled_job_archives_text_and_warc(job):
    archive = job["archive"]
    assert list(archive.glob("text/*/*.json")), "no article text archived"
    assert list(archive.glob(f"warc/{SPIDER}/*.warc.gz")), f"no WARC under warc/{SPIDER}/"


@pytest.mark.crawl
def test_scheduled_job_log_has_no_traceback(job):
    text = job["log"].read_text(errors="replace")
    assert "Spider closed (finished)" in text
    assert "Traceback" not in text, text[-3000:]


@pytest.mark.crawl
def test_scheduled_job_reads_the_seeds_shipped_in_the_egg(job):
    # Scrapyd's folder has no seeds/: the seed found here is one the egg carries (crawler/seeds/).
    assert not (job["cwd"] / "seeds").exists()
    assert json.loads(job["stats"].read_text())["news/seed_citations"] >= 1
