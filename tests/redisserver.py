"""A real ``redis-server`` on a loopback port, started by the tests that share a crawl through it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.s3server import free_port, skip_or_fail_missing


class RedisMissing(RuntimeError):
    pass


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        program = shutil.which("redis-server")
        if program is None:
            raise RedisMissing("redis-server not found: install it (make test installs it with apt-get when root)")
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            self.port = free_port()
            log = (self.folder / "redis.log").open("ab")
            # In memory only: nothing a test leaves survives it.
            self.process = subprocess.Popen(
                [program, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--dir", str(self.folder)], stdout=log, stderr=log)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"redis-server did not start: {(self.folder / 'redis.log').read_text()[-800:]}")

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def flush(self) -> None:
        self.client().flushall()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_or_skip(folder: Path) -> RedisServer:
    try:
        return RedisServer(folder).start()
    except RedisMissing as exc:
        skip_or_fail_missing(exc)
