import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, item_feeds


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
