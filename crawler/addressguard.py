"""Refuse private, loopback, link-local and reserved addresses (SSRF guard).

The downloader middleware checks every request before it is sent (an IP literal at
once, a host name through the reactor's resolver) and drops a refused one without
retries. The resolver checks again the very address the connection uses, so a name
cannot resolve elsewhere in between (its answers are cached).
``PRIVATE_ADDRESS_ALLOWLIST`` (IPs, CIDRs, host names, comma-separated) opts some in.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.internet.defer import Deferred
    from typing_extensions import Self

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Allowlist:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str | list[str] | None) -> Allowlist:
        entries = value.split(",") if isinstance(value, str) else list(value or [])
        networks, hosts = [], set()
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Allowlist:
        return cls.parse(settings.get("PRIVATE_ADDRESS_ALLOWLIST"))

    def allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def is_forbidden(address: IPAddress) -> bool:
    """Anything that is not a public unicast address: private, loopback, link-local, reserved..."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


class ForbiddenAddress(DNSLookupError):
    """A name resolved to an address the crawler refuses."""


def refusal(host: str, address: IPAddress, allowlist: Allowlist) -> str | None:
    """Why a connection to ``address`` (for ``host``) is refused, or None when it is allowed."""
    if host.lower().rstrip(".") in allowlist.hosts or not is_forbidden(address) or allowlist.allows(address):
        return None
    return f"{host} is {address}, a non-public address; PRIVATE_ADDRESS_ALLOWLIST can opt it in"


class AddressGuardMiddleware:
    """Downloader middleware: refuses requests to non-public addresses before they are sent."""

    def __init__(self, crawler: Crawler, allowlist: Allowlist) -> None:
        self.stats = crawler.stats
        self.allowlist = allowlist

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.settings.get("REPLAY"):
            raise NotConfigured  # replay opens no connection, and must not even look a name up
        return cls(crawler, Allowlist.from_settings(crawler.settings))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = urlparse_cached(request).hostname or ""
        if host.lower().rstrip(".") in self.allowlist.hosts:
            return
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = await self._resolve(host)
            if address is None:
                return  # the download reports the DNS error itself
        if reason := refusal(host, address, self.allowlist):
            self.stats.inc_value("addressguard/refused")
            logger.warning("Refused %s: %s", request.url, reason)
            raise IgnoreRequest(reason)

    @staticmethod
    async def _resolve(host: str) -> IPAddress | None:
        from twisted.internet import reactor

        try:
            return ipaddress.ip_address(await maybe_deferred_to_future(reactor.resolve(host)))
        except ForbiddenAddress as exc:
            return ipaddress.ip_address(exc.address)
        except DNSLookupError:
            return None


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, failing names that resolve to non-public addresses."""

    def __init__(self, reactor: Any, cache_size: int, timeout: float, allowlist: Allowlist) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.allowlist = allowlist

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), Allowlist.from_settings(settings))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        return super().getHostByName(name, timeout).addCallback(self._check, name)

    def _check(self, address: str, name: str) -> str:
        if reason := refusal(name, ipaddress.ip_address(address), self.allowlist):
            error = ForbiddenAddress(reason)
            error.address = address
            raise error
        return address
