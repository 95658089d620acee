"""Fail fast, in one line, when the live web is out of reach (``make crawl``)."""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit


def check_reachable(url: str, timeout: float = 5.0) -> str | None:
    """None when a TCP connection to the URL's host opens, else why not."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else "https://www.vietnamplus.vn/"
    reason = check_reachable(url)
    if reason is None:
        return 0
    host = urlsplit(url).hostname
    print(f"make crawl: cannot reach {host} ({reason}); no network? `make demo` runs the same crawl offline from recorded pages.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
