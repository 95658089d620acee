"""A real moto S3 server on loopback, so storage tests speak HTTP to something S3-shaped.

In-process mocks (``mock_aws``) patch botocore and never open a socket, so they cannot show
what happens with connection resets, timeouts or a subprocess that reads ``AWS_ENDPOINT_URL``.
``S3Server`` starts the ``moto_server`` console script of this virtualenv on a free port of
127.0.0.1 and stops it again on exit::

    with S3Server() as s3:
        s3.create_bucket("news-archive")
        s3.client().put_object(Bucket="news-archive", Key="a", Body=b"x")
        subprocess.run([...], env={**os.environ, **s3.env()})
        s3.reset()                       # forget every bucket and object

API:
    ``S3Server(startup_timeout=20.0)``: context manager (or ``start()`` / ``stop()``).
    ``.endpoint``     "http://127.0.0.1:PORT"
    ``.port``         the port
    ``.access_key`` / ``.secret_key``: random dummy credentials of this server
    ``.region``       "us-east-1"
    ``.client(endpoint_url=None, config=None)``: a boto3 S3 client (endpoint_url, e.g. a
                      fault proxy in front of this server, defaults to ``.endpoint``)
    ``.create_bucket(name)``: creates a bucket (name checked against S3's naming rules)
    ``.reset()``      clears all moto state (POST /moto-api/reset)
    ``.env()``        AWS_* variables pointing a subprocess at this server
    ``.log()``        what moto_server printed so far (for failure messages)

``MotoServerMissing`` is raised by ``start()`` when the ``moto_server`` program is not
installed; ``skip_or_fail_missing(exc)`` turns it into a skip, or a failure under CI=true.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from typing import Self

HOST = "127.0.0.1"
REGION = "us-east-1"
# S3 bucket naming rules (the subset that matters here): 3-63 characters of lowercase
# letters, digits, dots and hyphens, starting and ending with a letter or digit.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class MotoServerMissing(RuntimeError):
    """The ``moto_server`` program is not installed next to the running Python."""


def moto_server_path() -> Path:
    """The ``moto_server`` console script of this virtualenv (not whatever is on PATH)."""
    return Path(sys.executable).parent / "moto_server"


def unique_bucket_name(prefix: str = "test") -> str:
    """A valid bucket name no other test uses, so tests need not reset between each other."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    check_bucket_name(name)
    return name


def check_bucket_name(name: str) -> None:
    """Fail early and clearly on names moto would answer with an InvalidBucketName error."""
    if not BUCKET_NAME.match(name) or ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise ValueError(f"invalid S3 bucket name {name!r}: 3-63 chars of a-z, 0-9, '.', '-'")


def skip_or_fail_missing(exc: Exception) -> NoReturn:
    """A missing moto_server fails the test under CI=true (it must be installed there), else skips."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(str(exc), pytrace=False)
    pytest.skip(str(exc))


def free_port() -> int:
    """A loopback port nothing listens on right now (a race, so start() retries on a clash)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate, then kill if it ignores SIGTERM: no server may outlive the tests."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class S3Server:
    """A ``moto_server`` subprocess on 127.0.0.1 with its own random dummy credentials."""

    def __init__(self, startup_timeout: float = 20.0) -> None:
        self.startup_timeout = startup_timeout
        self.region = REGION
        self.access_key = "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_hex(20)
        self.port = 0
        self.endpoint = ""
        self._proc: subprocess.Popen | None = None
        self._logfile: IO[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        """Start moto_server on a free port and wait until it answers HTTP."""
        program = moto_server_path()
        if not (program.is_file() and os.access(program, os.X_OK)):
            raise MotoServerMissing(f"moto_server not found: install moto[server] ({program} is missing)")
        if self._proc is not None:
            raise RuntimeError("S3Server already started")
        deadline = time.monotonic() + self.startup_timeout
        for _attempt in range(3):  # another process may take the free port before moto binds it
            port = free_port()
            self._logfile = tempfile.TemporaryFile(prefix="moto_server-")  # noqa: SIM115 - closed by stop()
            self._proc = subprocess.Popen(
                [str(program), "-H", HOST, "-p", str(port)],
                stdin=subprocess.DEVNULL, stdout=self._logfile, stderr=subprocess.STDOUT,
            )
            # Kills the server even if a test forgets stop() (runs at interpreter exit too).
            self._finalizer = weakref.finalize(self, _stop_process, self._proc)
            self.port, self.endpoint = port, f"http://{HOST}:{port}"
            if self._wait_ready(deadline):
                return self
            log = self.log()
            exited = self._proc.poll() is not None
            self.stop()
            if not exited or time.monotonic() >= deadline:
                raise RuntimeError(f"moto_server did not answer on {HOST}:{port} within "
                                   f"{self.startup_timeout:.0f} s; its output:\n{log[-3000:]}")
        raise RuntimeError(f"moto_server exited at start three times; its last output:\n{log[-3000:]}")

    def _wait_ready(self, deadline: float) -> bool:
        """True once moto's own API answers; False if the process died or time ran out."""
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                status, _ = self._request("GET", "/moto-api/data.json", timeout=1.0)
                if status == 200 and self._proc.poll() is None:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop the server and wait for it; safe to call twice."""
        if self._proc is not None:
            _stop_process(self._proc)
            self._proc = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._logfile is not None:
            self._logfile.close()
            self._logfile = None

    @property
    def running(self) -> bool:
        """Whether the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        """What moto_server printed so far: for failure messages."""
        if self._logfile is None:
            return ""
        self._logfile.flush()
        self._logfile.seek(0)
        return self._logfile.read().decode("utf-8", "replace")

    # -- helpers for tests ---------------------------------------------------------------
    def _request(self, method: str, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def client(self, endpoint_url: str | None = None, config: Any = None) -> Any:
        """A boto3 S3 client for this server (or a proxy in front of it) with its credentials."""
        import boto3
        from botocore.config import Config

        if config is None:
            config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=config,
        )

    def create_bucket(self, name: str) -> str:
        """Create a bucket (checking the name first, as moto rejects invalid ones); returns the name."""
        check_bucket_name(name)
        self.client().create_bucket(Bucket=name)
        return name

    def reset(self) -> None:
        """Forget every bucket and object, so each test starts from an empty S3."""
        status, body = self._request("POST", "/moto-api/reset")
        if status != 200:
            raise RuntimeError(f"moto reset failed: HTTP {status} {body[:200]!r}")

    def env(self) -> dict[str, str]:
        """AWS_* variables for a subprocess: merge into its environment (``{**os.environ, **s3.env()}``)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            # Never ask the EC2 metadata service (a link-local address) for anything.
            "AWS_EC2_METADATA_DISABLED": "true",
        }
