"""A real nginx on loopback serving a folder, with ETag and Last-Modified, for incremental crawls.

nginx answers conditional requests itself (``If-None-Match``, ``If-Modified-Since``: 304), as
the news sites' front servers do. Its access log (status and path of every request) is how a
test counts what a crawl asked for.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONFIG = """
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    types {{ text/html html; application/xml xml; text/plain txt; }}
    default_type text/html;
    log_format status '$status $request_method $request_uri';
    access_log {root}/access.log status;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    etag on;
    if_modified_since exact;
    {http_extra}
    server {{
        listen 127.0.0.1:{port};
        root {site};
        include {root}/redirects.conf;
        location / {{ try_files $uri $uri.html $uri/index.html =404; }}
    }}
}}
"""


class NginxMissing(RuntimeError):
    pass


def nginx_path() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        raise NginxMissing("nginx not found: install it (make test installs it with apt-get when root)")
    return found


class Nginx:
    """``with Nginx(site_dir, work_dir) as server:`` serves ``site_dir`` at ``server.base``."""

    def __init__(self, site: Path, root: Path, http_extra: str = "") -> None:
        """``http_extra``: more directives for the http block (``gzip on;``, say)."""
        self.site, self.root, self.http_extra = site, root, http_extra
        self.process: subprocess.Popen | None = None
        self.base = ""

    def __enter__(self) -> Nginx:
        binary = nginx_path()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else ""  # workers must read the test's private folders
        (self.root / "redirects.conf").touch()
        config = self.root / "nginx.conf"
        config.write_text(CONFIG.format(root=self.root, site=self.site, port=port, user=user, http_extra=self.http_extra))
        self.process = subprocess.Popen([binary, "-p", str(self.root), "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()[-1000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        self.base = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def redirect(self, path: str, to: str) -> None:
        """From now on ``path`` answers 301 to ``to`` (the configuration is reloaded)."""
        with (self.root / "redirects.conf").open("a") as rules:
            rules.write(f"location = {path} {{ return 301 {to}; }}\n")
        mark = (self.root / "error.log").stat().st_size if (self.root / "error.log").exists() else 0
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)  # the new workers take over
        errors = (self.root / "error.log").read_text()[mark:] if (self.root / "error.log").exists() else ""
        if "emerg" in errors:
            raise RuntimeError(errors)

    def requests(self) -> list[tuple[int, str]]:
        """(status, path) of every request so far, in order."""
        log = self.root / "access.log"
        if not log.exists():
            return []
        entries = []
        for line in log.read_text().splitlines():
            status, _, path = line.split(" ", 2)
            entries.append((int(status), path))
        return entries

    def mark(self) -> int:
        """A position in the log: ``requests()[mark:]`` are the requests after it."""
        return len(self.requests())
