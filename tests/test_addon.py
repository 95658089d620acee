import json
import re
import os
import subprocess
import sys

from scrapy.settings import Settings

from crawler.addon import DEFAULTS, Addon
from tests.helpers import ROOT


def settings_after_addon(**project) -> Settings:
    settings = Settings()
    settings.setdict(project, priority="project")
    Addon().update_settings(settings)
    return settings


def test_components_and_defaults_are_wired():
    settings = settings_after_addon()
    assert settings.getdict("ITEM_PIPELINES") == {
        "pipelines.extraction.ExtractionPipeline": 300,
        "pipelines.policy.CrawlPolicyPipeline": 350,
        "pipelines.textstore.TextStorePipeline": 800,
    }
    assert "pipelines.warc.WarcCapture" in settings.getdict("EXTENSIONS")
    assert settings.get("ARCHIVE_URI") == "archive" and settings.getint("RELATED_DEPTH") == 1
    # The items feed is written through the crawl's archive storage, whatever ARCHIVE_URI is.
    assert list(settings.getdict("FEEDS")) == ["archive:items/%(name)s/%(crawl_id)s.jsonl"]
    assert settings.getdict("FEED_STORAGES")["archive"] == "archiving.crawls.ArchiveFeedStorage"
    assert settings.getwithbase("ARCHIVE_STORAGES")["s3"] == "archiving.s3.S3Storage"


def test_project_settings_win_over_addon_defaults():
    settings = settings_after_addon(ARCHIVE_URI="/data/news", RELATED_DEPTH=3)
    assert settings.get("ARCHIVE_URI") == "/data/news" and settings.getint("RELATED_DEPTH") == 3


def test_replay_swaps_the_http_handlers_and_drops_politeness_delays():
    settings = settings_after_addon(REPLAY="tests/fixtures", AUTOTHROTTLE_ENABLED=True, DOWNLOAD_DELAY=0.25)
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == "crawler.replay.ReplayDownloadHandler"
    assert not settings.getbool("AUTOTHROTTLE_ENABLED") and settings.getfloat("DOWNLOAD_DELAY") == 0


def test_without_replay_the_network_handler_keeps_what_it_received():
    handlers = settings_after_addon().getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == "crawler.download.FaithfulHttpDownloadHandler"


def test_every_product_setting_can_come_from_the_environment():
    env = {**os.environ, **{name: f"from-env-{name}" for name in DEFAULTS}}
    script = "import json, crawler.settings as s; print(json.dumps({n: getattr(s, n, None) for n in %r}))" % list(DEFAULTS)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == {name: f"from-env-{name}" for name in DEFAULTS}


def test_every_product_setting_is_in_the_readmes_settings_table():
    from archiving.s3 import DEFAULTS as S3_DEFAULTS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings"):readme.index("## Exit status")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])}
    assert sorted((set(DEFAULTS) | set(S3_DEFAULTS) | {"REDIS_URL"}) - documented) == []
