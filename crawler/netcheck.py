"""Fail fast, in one line, when the live web is out of reach (``make crawl``, ``scrapy crawl``)."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

# Connection errors that say this machine has no way out (as opposed to a server that refuses).
NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}


def network_problem(url: str, timeout: float = 5.0, resolve: Callable[..., Any] = socket.getaddrinfo,
                    connect: Callable[..., Any] = socket.create_connection) -> str | None:
    """Why the network is out of reach for ``url``, or None (reachable, or a server that answered no).

    A host named by a loopback or private address is not probed: a local test site is no sign of
    the network. A name that does not resolve, no route, or no answer in ``timeout`` is a problem;
    a refused connection is not (the network works: the crawl reports the site's errors).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        if not ipaddress.ip_address(host).is_global:
            return None
    except ValueError:
        pass
    try:
        resolve(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host} ({exc.strerror or exc})"
    try:
        connect((host, port), timeout=timeout).close()
    except (socket.timeout, TimeoutError):
        return f"no answer from {host}:{port} in {timeout:.0f} s"
    except OSError as exc:
        if exc.errno in NO_ROUTE:
            return f"no route to {host} ({exc.strerror})"
    return None
