"""Where a webhook may be sent: never inward.

A subscription names a URL, so without a check a partner's account could make the gateway call
the cloud's metadata service (169.254.169.254), its own loopback or the cluster's services. The
rules (`TargetPolicy`, pure):

- outside development only `https`;
- the host is on the principal's allow-list of the site's configuration
  (`SAMORDNA_WEBHOOK_ALLOWED_HOSTS`; in production a principal with no list may name no host);
- every address the host resolves to is globally routable: loopback, private, link-local,
  multicast, shared (CGNAT), documentation, reserved and unspecified addresses are refused, an
  IPv4 address in IPv6 clothing (`::ffff:127.0.0.1`, 6to4, Teredo, NAT64) as the address it wraps;
  loopback is allowed only by `SAMORDNA_WEBHOOK_ALLOW_LOOPBACK`, a development setting.

`TargetGuard` applies them when a subscription is made (each refusal a named 4xx) and again
when each delivery connects: it resolves the name once, checks every address, and connects to
an address it checked, so a name that resolves elsewhere by then (DNS rebinding) is refused
too. `GuardedTransport` is the httpx transport that does the latter.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from services.gateway.errors import AddressRefused, HostNotAllowed, HostUnresolved, InsecureEndpoint

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
RESOLVE_TIMEOUT_SECONDS = 5.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: a NAT64 gateway reaches the IPv4 inside


async def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for the host (an IP literal is itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def refusal(address: Address, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not connect to this address, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        wrapped = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if address in _NAT64:
            wrapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if wrapped is not None:
            why = refusal(wrapped, allow_loopback)
            if why is not None or address.ipv4_mapped is not None:
                return why  # a mapped address is the IPv4 address; 6to4, Teredo, NAT64 must pass as themselves too
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """`case.alingsas.se` is that host only; `*.alingsas.se` any host below it (not itself)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
        if host == pattern:
            return True
    return False


@dataclass(frozen=True)
class TargetPolicy:
    """The rules of one principal's gateway. `allowed_hosts` None: any host (development only)."""

    https_only: bool
    allowed_hosts: tuple[str, ...] | None
    allow_loopback: bool = False

    @classmethod
    def from_settings(cls, settings, principal: str) -> "TargetPolicy":
        production = settings.environment == "production"
        listed = settings.webhook_allowed_hosts.get(principal)
        hosts = tuple(listed) if listed is not None else (() if production else None)
        return cls(https_only=production, allowed_hosts=hosts, allow_loopback=settings.webhook_allow_loopback)

    def check_url(self, url: str) -> tuple[str, int]:
        """The URL's host and port, if its scheme and host may be used; else the refusal."""
        parts = urlsplit(url)
        if self.https_only and parts.scheme != "https":
            raise InsecureEndpoint()
        host = parts.hostname or ""
        self.check_host(host)
        return host, parts.port or (443 if parts.scheme == "https" else 80)

    def check_host(self, host: str) -> None:
        if self.allowed_hosts is not None and not host_allowed(host, self.allowed_hosts):
            raise HostNotAllowed(host)

    def check_addresses(self, addresses: list[str]) -> None:
        """Every address must be allowed: a name with one inward address among others is refused."""
        for text in addresses:
            why = refusal(ipaddress.ip_address(text.split("%", 1)[0]), self.allow_loopback)
            if why is not None:
                raise AddressRefused(why)


@dataclass(frozen=True)
class TargetGuard:
    policy: TargetPolicy
    resolver: Resolver = resolve

    async def admit(self, url: str) -> None:
        """At subscription time: the URL, its host and every address it resolves to now."""
        host, port = self.policy.check_url(url)
        await self.checked_addresses(host, port)

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """At connect time: resolve once, check every address, and give them to connect to."""
        self.policy.check_host(host)
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                addresses = await self.resolver(host, port)
        except (OSError, UnicodeError, TimeoutError):
            raise HostUnresolved(host) from None
        if not addresses:
            raise HostUnresolved(host)
        self.policy.check_addresses(addresses)
        return addresses


class TargetRefusedAtConnect(httpcore.ConnectError):
    """A delivery's connection refused by the guard; `reason` says why, without the address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: TargetGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        # reasons without the host or an address: they are kept as last_error and logged
        try:
            addresses = await self._guard.checked_addresses(host, port)
        except AddressRefused as exc:
            raise TargetRefusedAtConnect(exc.reason) from None
        except HostNotAllowed:
            raise TargetRefusedAtConnect("a host not on the allow-list") from None
        except HostUnresolved:
            raise httpcore.ConnectError("host name not resolved") from socket.gaierror(
                socket.EAI_NONAME, "not resolved"
            )
        failure: Exception | None = None
        for address in addresses:  # the checked addresses, never the name again
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError("no address to connect to")

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise TargetRefusedAtConnect("a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting only where the guard allows. TLS still verifies the
    certificate against the URL's host name (httpcore passes it as the server name)."""

    def __init__(self, guard: TargetGuard, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        # one context may serve many transports (loading the CA bundle for each would cost)
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx takes no network backend of its own; its pool (the documented httpcore one) does.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )
        self._https_only = guard.policy.https_only

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._https_only and request.url.scheme != "https":
            reason = "an http URL where only https is allowed"
            raise httpx.ConnectError(reason, request=request) from TargetRefusedAtConnect(reason)
        return await super().handle_async_request(request)
