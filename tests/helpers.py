from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "data" / "golden"
BIN = Path(sys.executable).parent


def golden_seeds() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLDEN.glob("*.json"))]


def fixture_html(url: str) -> str:
    from crawler.replay import FixtureStore

    return FixtureStore(FIXTURES).path_for(url).read_text(encoding="utf-8")


def run_scrapy(args: list[str], cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    """``scrapy <args>`` in a subprocess: each crawl gets its own reactor, as on the command line."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY")}
    env["EXTRACTION_WORKERS"] = "2"
    return subprocess.run([BIN / "scrapy", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def free_port_closed() -> int:
    """A loopback port with nothing listening."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replay_crawl(
    tmp_path: Path, spider: str, *args: str, replay: Path | str = "tests/fixtures",
) -> tuple[list[dict], dict, str]:
    """A crawl replayed from the fixtures (or another recording): its article records, its stats and its log."""
    archive, stats = tmp_path / "archive", tmp_path / "stats.json"
    result = run_scrapy([
        "crawl", spider, "-s", f"REPLAY={replay}", "-s", f"ARCHIVE_URI={archive}", "-s", f"STATS_FILE={stats}", *args,
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for p in item_feeds(archive, spider) for line in p.read_text().splitlines()]
    return records, json.loads(stats.read_text()), result.stderr


def item_feeds(root: Path, spider: str = "*") -> list[Path]:
    """``items/<spider>/<crawl-id>.jsonl`` feeds of a local archive (not their ``.stories.jsonl``)."""
    return sorted(p for p in Path(root).glob(f"items/{spider}/*.jsonl") if not p.name.endswith(".stories.jsonl"))
