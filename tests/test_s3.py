"""ARCHIVE_URI=s3://bucket/prefix against a real S3 API (moto's server on loopback), with a
fault-injecting proxy between boto3 and the server for the bad-network cases."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from botocore.config import Config
from scrapy.settings import Settings

from archiving.cdxj import cdxj_of_file
from archiving.s3 import S3Storage
from archiving.storage import ArchiveWriteError
from tests.faultproxy import FaultProxy
from tests.helpers import BIN, ROOT
from tests.s3server import S3Server, unique_bucket_name
from tests.warc_checks import validate_warcs

PREFIX = "news"
CRAWL = ["crawl", "vietnamplus", "-s", "REPLAY=tests/fixtures"]
CAPTURE_FIELDS = ("warc_filename", "warc_record_id", "fetched_at", "spider")  # which spider got there first varies
MIB = 1 << 20


@pytest.fixture
def bucket(s3) -> str:
    return s3.create_bucket(unique_bucket_name("news"))


def environment(s3: S3Server, spool: Path, endpoint: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_URI", "REPLAY")}
    env.update(s3.env(), SPOOL_DIR=str(spool), EXTRACTION_WORKERS="2", **extra)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def scrapy(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([str(BIN / "scrapy"), *args], env)


def objects(s3: S3Server, bucket: str, prefix: str = PREFIX) -> dict[str, bytes]:
    """Every object under the prefix, by its path in the archive."""
    client, found = s3.client(), {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            found[obj["Key"][len(prefix) + 1:]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return found


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def files_in(spool: Path) -> list[Path]:
    """Files waiting in the spool (its lock files, which stay, are not among them)."""
    return [p for p in spool.rglob("*") if p.is_file() and ".locks" not in p.parts] if spool.exists() else []


def family(paths, suffix: str, top: str) -> set[str]:
    return {p for p in paths if p.startswith(top + "/") and p.endswith(suffix)}


def without_capture(record: bytes) -> dict:
    data = json.loads(record)
    return {k: v for k, v in data.items() if k not in CAPTURE_FIELDS}


def unfinished_uploads(s3: S3Server, bucket: str) -> list:
    return s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def record_ids(warcs: dict[str, bytes]) -> set[str]:
    from io import BytesIO

    from warcio.archiveiterator import ArchiveIterator

    ids = set()
    for data in warcs.values():
        ids |= {r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(BytesIO(data))}
    return ids


def assert_records_name_existing_captures(stored: dict[str, bytes]) -> None:
    captured = record_ids({k: v for k, v in stored.items() if k.endswith(".warc.gz")})
    records = [json.loads(v) for k, v in stored.items() if k.startswith("text/") and k.endswith(".json")]
    assert records and all(r["warc_record_id"] in captured for r in records)
    assert all(k.removesuffix(".json") + ".txt" in stored for k in stored if k.startswith("text/") and k.endswith(".json"))


# -- the demo into S3 ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_demo(s3, tmp_path_factory) -> dict:
    """``make demo`` with ARCHIVE_URI=s3://<bucket>/news: its objects, its spool and its output."""
    bucket = s3.create_bucket(unique_bucket_name("demo"))
    spool = tmp_path_factory.mktemp("spool")
    result = run([str(BIN / "python"), "-m", "crawler.demo", "--replay", "tests/fixtures",
                  "--archive", f"s3://{bucket}/{PREFIX}"], environment(s3, spool))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and " ERROR: " not in result.stderr, result.stderr[-3000:]
    return {"bucket": bucket, "spool": spool, "output": result.stdout + result.stderr, "objects": objects(s3, bucket)}


@pytest.mark.crawl
def test_demo_into_s3_has_the_keys_and_texts_of_a_local_demo(s3_demo, demo_archive):
    stored, local = s3_demo["objects"], local_files(demo_archive)
    for suffix, top in ((".txt", "text"), (".json", "text"), (".jsonl", "stories")):
        assert family(stored, suffix, top) == family(local, suffix, top)
    assert {k: v for k, v in stored.items() if k.endswith(".txt")} == {k: v for k, v in local.items() if k.endswith(".txt")}
    for key in family(stored, ".json", "text"):
        assert without_capture(stored[key]) == without_capture(local[key])
    # WARCs, their indexes and the crawls' feeds: as many, named by the same rules.
    for suffix, top in ((".warc.gz", "warc"), (".cdxj", "indexes"), (".jsonl", "items")):
        assert len(family(stored, suffix, top)) == len(family(local, suffix, top)) > 0


@pytest.mark.crawl
def test_no_object_is_partial_temporary_or_a_probe(s3_demo):
    names = [key.rsplit("/", 1)[-1] for key in s3_demo["objects"]]
    assert not [n for n in names if n.endswith(".open") or n.startswith(".")]


@pytest.mark.crawl
def test_spool_is_empty_once_the_crawls_end(s3_demo):
    assert files_in(s3_demo["spool"]) == []


@pytest.mark.crawl
def test_warcs_in_s3_are_valid_indexed_and_replay(s3_demo, tmp_path):
    stored = s3_demo["objects"]
    (tmp_path / "warc").mkdir()
    for key, data in stored.items():
        if key.endswith(".warc.gz"):
            path = tmp_path / "warc" / key.rsplit("/", 1)[-1]
            path.write_bytes(data)
            index = "indexes/" + path.name.removesuffix(".warc.gz") + ".cdxj"
            assert cdxj_of_file(path, path.name) == stored[index]
    urls = [json.loads(v)["url"] for k, v in stored.items() if k.startswith("text/") and k.endswith(".json")]
    (tmp_path / "check").mkdir()
    report = validate_warcs(tmp_path / "warc", urls, tmp_path / "check")
    assert report.failures == [] and report.replayed >= len(urls)


@pytest.mark.crawl
def test_records_in_s3_name_captures_that_exist(s3_demo):
    assert_records_name_existing_captures(s3_demo["objects"])


@pytest.mark.crawl
def test_aws_cli_lists_and_downloads_the_objects(s3, s3_demo, tmp_path):
    env = environment(s3, tmp_path)
    listed = run([str(BIN / "aws"), "s3", "ls", "--recursive", f"s3://{s3_demo['bucket']}/{PREFIX}/"], env)
    assert listed.returncode == 0, listed.stderr
    keys = {line.split(maxsplit=3)[3] for line in listed.stdout.splitlines()}
    assert keys == {f"{PREFIX}/{k}" for k in s3_demo["objects"]}
    text = next(k for k in s3_demo["objects"] if k.endswith(".txt"))
    copied = run([str(BIN / "aws"), "s3", "cp", f"s3://{s3_demo['bucket']}/{PREFIX}/{text}", str(tmp_path / "a.txt")], env)
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "a.txt").read_bytes() == s3_demo["objects"][text]


@pytest.mark.crawl
def test_replay_from_s3_fetches_records_by_range_and_gives_the_same_texts(s3, s3_demo, tmp_path):
    with FaultProxy(s3.endpoint) as proxy:
        env = environment(s3, tmp_path / "spool", endpoint=proxy.endpoint)
        result = scrapy(["crawl", "sggp", "-s", f"REPLAY=s3://{s3_demo['bucket']}/{PREFIX}",
                         "-s", f"ARCHIVE_URI={tmp_path / 'local'}", "-s", f"STATS_FILE={tmp_path / 'stats.json'}"], env)
        log = proxy.log
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads((tmp_path / "stats.json").read_text())
    replayed = {k: v for k, v in local_files(tmp_path / "local").items() if k.endswith(".txt")}
    demo_sggp = {k: v for k, v in s3_demo["objects"].items() if k.endswith(".txt") and k in replayed}
    assert replayed and replayed == demo_sggp and stats.get("replay/miss", 0) == 0
    # One ranged GET of a WARC per replayed response: no WARC is downloaded whole.
    warc_gets = [target for method, target, _ in log if method == "GET" and "/warc/" in target]
    assert len(warc_gets) == stats["replay/hit"]


@pytest.mark.crawl
def test_second_crawl_into_s3_writes_revisits_read_back_by_range(s3, bucket, tmp_path):
    env = environment(s3, tmp_path / "spool")
    archive = f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"
    assert scrapy([*CRAWL, "-s", archive], env).returncode == 0
    again = scrapy([*CRAWL, "-s", archive, "-s", f"STATS_FILE={tmp_path / 'stats.json'}"], env)
    assert again.returncode == 0, again.stderr[-3000:]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["warc/payloads_known_at_start"] > 0 and stats["warc/revisits"] > 0
    assert stats.get("warc/revisit_originals_missing", 0) == 0


@pytest.mark.crawl
def test_scrapy_wacz_packages_an_s3_archive_into_it(s3, s3_demo, tmp_path):
    result = scrapy(["wacz", "-s", f"ARCHIVE_URI=s3://{s3_demo['bucket']}/{PREFIX}"], environment(s3, tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"s3://{s3_demo['bucket']}/{PREFIX}/archive.wacz" in result.stdout and "wacz validate: passed" in result.stdout
    s3.client().head_object(Bucket=s3_demo["bucket"], Key=f"{PREFIX}/archive.wacz")


# -- credentials -----------------------------------------------------------------------------


@pytest.mark.crawl
def test_secret_key_and_session_token_appear_in_no_log_stat_object_or_spool_file(s3, bucket, tmp_path):
    token = "FwoGZXIvYXdzEXAMPLETOKEN" + os.urandom(8).hex()
    env = environment(s3, tmp_path / "spool", AWS_SESSION_TOKEN=token)
    stats = tmp_path / "stats.json"
    result = scrapy([*CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}", "-s", "LOG_LEVEL=DEBUG",
                     "-s", f"STATS_FILE={stats}"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    secret = s3.secret_key.encode()
    places = {"log": (result.stdout + result.stderr).encode(), "stats": stats.read_bytes()}
    places |= {f"object {k}": v for k, v in objects(s3, bucket).items()}
    places |= {f"spool {p}": p.read_bytes() for p in files_in(tmp_path / "spool")}
    for key, data in list(places.items()):
        if key.endswith(".warc.gz"):
            places[key] = gzip.decompress(data)
    assert len(places) > 40
    assert [where for where, data in places.items() if secret in data or token.encode() in data] == []


@pytest.mark.crawl
def test_missing_bucket_stops_the_crawl_in_one_line(s3, tmp_path):
    result = scrapy([*CRAWL, "-s", "ARCHIVE_URI=s3://no-such-bucket-here/news"], environment(s3, tmp_path))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "ARCHIVE_URI=s3://no-such-bucket-here/news is not writable: bucket no-such-bucket-here does not exist" in result.stderr


@pytest.mark.crawl
def test_no_credentials_stop_the_crawl_in_one_line(s3, bucket, tmp_path):
    env = environment(s3, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    result = scrapy([*CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"], env)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "no AWS credentials found" in result.stderr


# -- a bad network ---------------------------------------------------------------------------

FAULTS = ["reset", None, "500", None, "503", "reset_after_forward", None, None, "stall", None]
FAULTY = {"S3_READ_TIMEOUT": "1", "S3_CONNECT_TIMEOUT": "1"}


@pytest.mark.crawl
def test_crawl_through_resets_5xx_and_stalls_stores_every_object_once_with_the_right_bytes(s3, bucket, tmp_path):
    local = tmp_path / "local"
    assert scrapy([*CRAWL, "-s", f"ARCHIVE_URI={local}"], environment(s3, tmp_path / "unused")).returncode == 0
    with FaultProxy(s3.endpoint, stall_seconds=2) as proxy:
        proxy.set_plan(FAULTS * 12)
        env = environment(s3, tmp_path / "spool", endpoint=proxy.endpoint, **FAULTY)
        result = scrapy([*CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}", "-s", f"STATS_FILE={tmp_path / 's.json'}"], env)
        injected = proxy.injected
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(injected.values()) >= 30 and set(injected) == {"reset", "500", "503", "reset_after_forward", "stall"}
    stats = json.loads((tmp_path / "s.json").read_text())
    requests = sum(v for k, v in stats.items() if k.startswith("s3/requests/"))
    print(f"faults injected {dict(injected)}; {requests} S3 requests took {stats['s3/attempts']} attempts")
    assert stats["s3/attempts"] > requests  # retried

    stored, expected = objects(s3, bucket), local_files(local)
    assert {k: v for k, v in stored.items() if k.endswith(".txt")} == {k: v for k, v in expected.items() if k.endswith(".txt")}
    assert family(stored, ".json", "text") == family(expected, ".json", "text")
    assert len(family(stored, ".warc.gz", "warc")) == len(family(expected, ".warc.gz", "warc"))
    for key in family(stored, ".warc.gz", "warc"):
        gzip.decompress(stored[key])
    assert_records_name_existing_captures(stored)
    assert not [k for k in stored if k.rsplit("/", 1)[-1].startswith(".")]  # no probe, no temporary left
    assert files_in(tmp_path / "spool") == [] and unfinished_uploads(s3, bucket) == []


def storage_through(proxy: FaultProxy, s3: S3Server, bucket: str, spool: Path) -> S3Storage:
    config = Config(retries={"mode": "standard", "total_max_attempts": 10}, connect_timeout=1, read_timeout=1,
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    client = s3.client(endpoint_url=proxy.endpoint, config=config)
    return S3Storage(f"s3://{bucket}/{PREFIX}", client, spool, multipart_threshold=5 * MIB, part_size=5 * MIB)


@pytest.mark.crawl
def test_multipart_upload_through_faults_arrives_whole_and_once(s3, bucket, tmp_path):
    source = tmp_path / "big.warc.gz"
    source.write_bytes(os.urandom(12 * MIB + 1234))
    with FaultProxy(s3.endpoint, stall_seconds=2) as proxy:
        proxy.set_plan(["reset", None, "503", "reset_after_forward", "500", None, "stall", "reset_after_forward"])
        storage = storage_through(proxy, s3, bucket, tmp_path / "spool")
        storage.write_file("warc/news/big.warc.gz", source)
        steps = [target for method, target, _ in proxy.log if method in ("PUT", "POST")]
    assert proxy.injected and any("partNumber=3" in s for s in steps) and any("uploadId" in s and "partNumber" not in s for s in steps)
    assert objects(s3, bucket) == {"warc/news/big.warc.gz": source.read_bytes()}
    assert unfinished_uploads(s3, bucket) == [] and files_in(tmp_path / "spool") == []


@pytest.mark.crawl
def test_failed_uploads_stay_in_the_spool_exit_3_and_archive_sync_uploads_them(s3, bucket, tmp_path):
    spool = tmp_path / "spool"
    with FaultProxy(s3.endpoint) as proxy:
        # The start's probe and a few files go through; then S3 answers 500 to every upload.
        proxy.set_plan([None] * 8 + ["500"] * 2000)
        env = environment(s3, spool, endpoint=proxy.endpoint, S3_MAX_ATTEMPTS="2")
        failed = scrapy([*CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"], env)
        assert failed.returncode == 3, failed.stderr[-3000:]
        assert "Traceback" not in failed.stderr
        assert len([line for line in failed.stderr.splitlines() if " ERROR: " in line]) == 1
        assert "Archive write failed, closing the crawl: cannot upload s3://" in failed.stderr
        assert "InternalError" in failed.stderr and "archive_write_failed" in failed.stderr
        left = {p.relative_to(spool).as_posix().split("/", 2)[2]: p.read_bytes() for p in files_in(spool)}
        assert left and not [name for name in left if name.endswith(".open")]

        # An unfinished multipart upload that a killed crawl left long ago.
        s3.client().create_multipart_upload(Bucket=bucket, Key=f"{PREFIX}/warc/news/old.warc.gz")

        proxy.set_plan([])
        synced = scrapy(["archive-sync", "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"], env)
    assert synced.returncode == 0, synced.stderr[-3000:]
    assert f"files uploaded {len(left)}" in synced.stdout and "uploads aborted 1" in synced.stdout
    assert "still pending 0" in synced.stdout
    stored = objects(s3, bucket)
    assert {name: stored[name] for name in left} == left
    assert files_in(spool) == [] and unfinished_uploads(s3, bucket) == []
    assert_records_name_existing_captures(stored)


@pytest.mark.crawl
def test_crawl_killed_mid_upload_loses_nothing(s3, bucket, tmp_path):
    spool = tmp_path / "spool"
    with FaultProxy(s3.endpoint, stall_seconds=60) as proxy:
        proxy.set_plan([None] * 12 + ["stall"])
        env = environment(s3, spool, endpoint=proxy.endpoint, S3_READ_TIMEOUT="120")
        crawl = subprocess.Popen([str(BIN / "scrapy"), *CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"],
                                 cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not proxy.injected.get("stall") and time.monotonic() < deadline and crawl.poll() is None:
            time.sleep(0.05)
        assert proxy.injected.get("stall") == 1, "the crawl never reached the stalled upload"
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait()
        left = {p.relative_to(spool).as_posix().split("/", 2)[2]: p for p in files_in(spool)}
        assert any(name.endswith(".warc.gz.open") for name in left) and len(left) >= 2
        # Whole files waiting for their upload (a write cut by the kill left only a temporary file).
        stalled = {name: p.read_bytes() for name, p in left.items()
                   if not name.endswith(".open") and not name.rsplit("/", 1)[-1].startswith(".")}

        proxy.set_plan([])
        env.pop("S3_READ_TIMEOUT")
        synced = scrapy(["archive-sync", "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"], env)
    assert synced.returncode == 0, synced.stderr[-3000:]
    assert "WARCs repaired 1" in synced.stdout and "still pending 0" in synced.stdout
    stored = objects(s3, bucket)
    assert {name: stored[name] for name in stalled} == stalled  # what was in flight arrived
    assert files_in(spool) == []
    assert_records_name_existing_captures(stored)

    # The next crawl completes the archive.
    again = scrapy([*CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}"], environment(s3, spool))
    assert again.returncode == 0, again.stderr[-3000:]
    assert_records_name_existing_captures(objects(s3, bucket))


def test_storage_settings_build_a_client_with_retries_and_encryption(tmp_path):
    settings = Settings({"S3_SSE": "aws:kms", "S3_SSE_KMS_KEY_ID": "key-1", "S3_STORAGE_CLASS": "STANDARD_IA",
                         "S3_MAX_ATTEMPTS": 7, "SPOOL_DIR": str(tmp_path), "AWS_REGION_NAME": "eu-west-1"})
    storage = S3Storage.from_settings(settings, "s3://bucket/prefix/")
    assert storage.put_args == {"StorageClass": "STANDARD_IA", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-1"}
    assert storage.client.meta.config.retries["total_max_attempts"] == 7
    assert storage.client.meta.region_name == "eu-west-1"
    assert storage.partial_root == tmp_path / "bucket" / "prefix" and storage.key("text/a.json") == "prefix/text/a.json"


def test_an_etag_that_is_not_an_md5_is_accepted_under_sse_kms(tmp_path):
    storage = S3Storage("s3://bucket/news", client=None, spool=tmp_path)
    storage._check("text/a.json", {"ETag": '"7e2a..."', "ServerSideEncryption": "aws:kms"}, "d41d8cd98f00b204e9800998ecf8427e")
    with pytest.raises(ArchiveWriteError, match="does not match the spooled file"):
        storage._check("text/a.json", {"ETag": '"7e2a..."', "ServerSideEncryption": "AES256"}, "d41d8cd98f00b204e9800998ecf8427e")


@pytest.mark.crawl
def test_a_crawl_that_loses_its_lease_stops_with_status_3(s3, bucket, tmp_path):
    env = environment(s3, tmp_path / "spool", S3_LOCK_LEASE="3")
    crawl = subprocess.Popen([str(BIN / "scrapy"), *CRAWL, "-s", f"ARCHIVE_URI=s3://{bucket}/{PREFIX}",
                              "-s", "DOWNLOAD_DELAY=0.5", "-s", "CONCURRENT_REQUESTS=1"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lease = f"{PREFIX}/locks/vietnamplus.lease"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Contents" not in s3.client().list_objects_v2(Bucket=bucket, Prefix=lease):
        time.sleep(0.1)
    time.sleep(1)
    s3.client().put_object(Bucket=bucket, Key=lease, Body=b'{"owner": "another crawl", "expires": 9999999999}')
    _, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 3 and "Traceback" not in err
    assert "was lost" in err and "closing the crawl" in err and "'finish_reason': 'archive_lock_lost'" in err
