import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, item_feeds
from tests.processes import processes


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory) -> Path:
    """The archive that ``make demo`` writes: every site spider replaying the fixtures."""
    archive = tmp_path_factory.mktemp("demo") / "archive"
    result = subprocess.run(
        [sys.executable, "-m", "crawler.demo", "--replay", "tests/fixtures", "--archive", str(archive)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (archive.parent / "demo.out").write_text(result.stdout + result.stderr)
    return archive


@pytest.fixture(scope="session")
def demo_records(demo_archive) -> dict[str, list[dict]]:
    """Article records by spider, from the items/<spider>/<crawl-id>.jsonl feeds."""
    records = {}
    for feed in item_feeds(demo_archive):
        lines = feed.read_text(encoding="utf-8").splitlines()
        records[feed.parent.name] = [json.loads(line) for line in lines]
    return records


@pytest.fixture(scope="session")
def s3():
    """A real S3 API for the session: moto's server on a loopback port (tests/s3server.py)."""
    from tests.s3server import MotoServerMissing, S3Server, skip_or_fail_missing

    try:
        server = S3Server().start()
    except MotoServerMissing as exc:
        skip_or_fail_missing(exc)
    try:
        yield server
    finally:
        server.stop()


def _venv_processes() -> dict[int, str]:
    """Processes running this virtualenv's programs (python, scrapy, moto_server, ...), by pid."""
    bin_dir = os.path.join(sys.prefix, "bin") + os.sep
    return {
        process.pid: process.cmdline[:200] for process in processes().values()
        if any(word.startswith(bin_dir) for word in process.cmdline.split()[:2])
        # the test process's own tracker (in-process pools): it ends with the session
        and not ("multiprocessing.resource_tracker" in process.cmdline and process.ppid == os.getpid())
    }


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = set(_venv_processes())


def pytest_sessionfinish(session, exitstatus):
    """No test may leave a process behind (an orphaned extraction worker, a server never stopped)."""
    before = session.config.stash.get(_BEFORE, set()) | {os.getpid()}
    deadline = time.monotonic() + 10
    while True:
        left = {pid: cmd for pid, cmd in _venv_processes().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n".join(f"  {pid}: {cmd}" for pid, cmd in sorted(left.items()))
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"Processes left behind by the tests:\n{lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set]()
