"""The S3 test servers themselves: moto on loopback, and the fault proxy in front of it.

Storage tests trust these two to behave like S3 and like a bad network; these tests show
they do, quickly, before anything is built on them.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.config import Config

from tests.faultproxy import FaultProxy
from tests.s3server import MotoServerMissing, S3Server, skip_or_fail_missing, unique_bucket_name

BODY = bytes(range(256)) * 400  # 100 kB: "reset" cuts it in half
RETRYING = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=2, read_timeout=2)


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A fresh bucket per test, so tests need no reset between them."""
    return s3.create_bucket(unique_bucket_name())


@pytest.fixture
def proxy(s3: S3Server) -> Iterator[FaultProxy]:
    with FaultProxy(upstream=s3.endpoint) as fault_proxy:
        yield fault_proxy


def keys(s3: S3Server, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.crawl
def test_moto_server_stores_and_returns_an_object(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"
    assert s3.endpoint == f"http://127.0.0.1:{s3.port}"


@pytest.mark.crawl
def test_reset_forgets_every_bucket() -> None:
    # A server of its own: the session's server holds other modules' buckets.
    try:
        server = S3Server().start()
    except MotoServerMissing as exc:
        skip_or_fail_missing(exc)
    try:
        server.create_bucket(unique_bucket_name())
        server.reset()
        assert server.client().list_buckets()["Buckets"] == []
    finally:
        server.stop()


@pytest.mark.crawl
def test_env_points_a_subprocess_at_the_server(s3: S3Server, bucket: str) -> None:
    script = "import boto3; print(*[b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])"
    result = subprocess.run([sys.executable, "-c", script], check=False, env={**os.environ, **s3.env()},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert bucket in result.stdout.split()


@pytest.mark.crawl
def test_invalid_bucket_name_is_refused_with_a_clear_error(s3: S3Server) -> None:
    with pytest.raises(ValueError, match="invalid S3 bucket name 'ab'"):
        s3.create_bucket("ab")


def test_missing_moto_server_names_the_program(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(MotoServerMissing, match=r"moto_server not found: install moto\[server\]"):
        S3Server().start()


@pytest.mark.crawl
def test_put_succeeds_through_503_500_and_reset(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    client = s3.client(endpoint_url=proxy.endpoint, config=RETRYING)
    proxy.set_plan(["503", "500", "reset"])
    client.put_object(Bucket=bucket, Key="retried", Body=BODY)
    assert s3.client().get_object(Bucket=bucket, Key="retried")["Body"].read() == BODY
    assert proxy.injected == {"503": 1, "500": 1, "reset": 1}
    assert proxy.counts["PUT"] == 4 and proxy.counts["forwarded"] == 1
    assert [fault for _, _, fault in proxy.log] == ["503", "500", "reset", None]


@pytest.mark.crawl
def test_stall_is_retried_after_the_read_timeout(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=1)
    client = s3.client(endpoint_url=proxy.endpoint, config=config)
    proxy.set_plan(["stall"], stall_seconds=3)
    client.put_object(Bucket=bucket, Key="stalled", Body=b"late")
    assert s3.client().get_object(Bucket=bucket, Key="stalled")["Body"].read() == b"late"
    assert proxy.injected == {"stall": 1}


@pytest.mark.crawl
def test_reset_after_forward_stores_the_object_once(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    client = s3.client(endpoint_url=proxy.endpoint, config=RETRYING)
    proxy.set_plan(["reset_after_forward"])
    client.put_object(Bucket=bucket, Key="once", Body=BODY)
    assert keys(s3, bucket) == ["once"]
    assert s3.client().get_object(Bucket=bucket, Key="once")["Body"].read() == BODY
    assert proxy.injected == {"reset_after_forward": 1}
    assert proxy.counts["forwarded"] == 2  # stored by the broken attempt, then again by the retry


@pytest.mark.crawl
def test_reads_pass_through_without_using_the_plan(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    s3.client().put_object(Bucket=bucket, Key="k", Body=b"v")
    proxy.set_plan(["503"])
    client = s3.client(endpoint_url=proxy.endpoint, config=RETRYING)
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    client.head_object(Bucket=bucket, Key="k")
    assert proxy.plan == ["503"] and proxy.injected == {}
    assert proxy.counts == {"requests": 2, "forwarded": 2, "GET": 1, "HEAD": 1}


@pytest.mark.crawl
def test_planned_methods_decide_which_requests_break(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    proxy.set_plan(["500"], methods={"GET"})
    client = s3.client(endpoint_url=proxy.endpoint, config=RETRYING)
    client.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert proxy.log == [("PUT", f"/{bucket}/k", None), ("GET", f"/{bucket}/k", "500"), ("GET", f"/{bucket}/k", None)]


@pytest.mark.crawl
def test_reset_closes_with_a_tcp_rst(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    proxy.set_plan(["reset"])
    host, port = urlsplit(proxy.endpoint).hostname, urlsplit(proxy.endpoint).port
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"PUT /{bucket}/k HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 4\r\n\r\nbody".encode())
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)
    assert proxy.injected == {"reset": 1} and keys(s3, bucket) == []


@pytest.mark.crawl
def test_chunked_request_body_is_forwarded_dechunked(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    url = urlsplit(proxy.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        conn.request("PUT", f"/{bucket}/chunked", body=iter([b"abc", b"defg", b"h"]),
                     headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert s3.client().get_object(Bucket=bucket, Key="chunked")["Body"].read() == b"abcdefgh"


@pytest.mark.crawl
def test_proxy_stop_ends_its_threads_despite_open_connections(s3: S3Server) -> None:
    proxy = FaultProxy(upstream=s3.endpoint).start()
    client = s3.client(endpoint_url=proxy.endpoint)
    client.list_buckets()  # leaves a kept-alive connection in the client's pool
    proxy.stop()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("faultproxy")]


def test_proxy_refuses_an_upstream_off_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(upstream="http://example.com:80")
