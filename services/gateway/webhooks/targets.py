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
too. `GuardedClient` is the HTTP client (aiohttp) that does the latter.
"""

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import aiohttp.abc
import aiohttp.helpers

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


class TargetRefusedAtConnect(OSError):
    """A delivery's connection refused by the guard; `reason` says why, without the address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def default_ssl_context() -> ssl.SSLContext:
    """What a delivery over https trusts: the system's certificate authorities (an operator adds a
    partner's private CA to the system's store, or names a bundle in SSL_CERT_FILE). One context
    serves every client: loading the store for each would cost."""
    return ssl.create_default_context()


class _GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver for a delivery's new connections: the guard resolves the name once and
    checks every address, and aiohttp connects to those, keeping the URL's host name for TLS (the
    server name and the certificate's check)."""

    def __init__(self, guard: "TargetGuard") -> None:
        self._guard = guard

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        with _as_connect_refusal():
            addresses = await self._guard.checked_addresses(host, port)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        pass


@contextlib.contextmanager
def _as_connect_refusal():
    """The guard's refusals as the connection's failure, in words without the host or an address
    (they are kept as the delivery's last_error and logged)."""
    try:
        yield
    except AddressRefused as exc:
        raise TargetRefusedAtConnect(exc.reason) from None
    except HostNotAllowed:
        raise TargetRefusedAtConnect("a host not on the allow-list") from None
    except HostUnresolved:
        raise socket.gaierror(socket.EAI_NONAME, "host name not resolved") from None


class GuardedClient:
    """The HTTP client of deliveries (aiohttp, one kept-alive connection), connecting only where
    the guard allows: every new connection to a name is resolved and checked again (no DNS cache),
    an IP literal is checked before every request (aiohttp resolves no literal), and in production
    nothing goes over plain http. No redirect is followed, no proxy or `.netrc` from the
    environment is used, and no cookie is kept. Use it as an async context manager."""

    def __init__(self, guard: "TargetGuard", ssl_context: ssl.SSLContext | None = None) -> None:
        self._guard = guard
        self._ssl = ssl_context or default_ssl_context()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "GuardedClient":
        connector = aiohttp.TCPConnector(
            limit=1, use_dns_cache=False, resolver=_GuardedResolver(self._guard), ssl=self._ssl
        )
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._session is not None:
            await self._session.close()

    @contextlib.asynccontextmanager
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AsyncIterator[aiohttp.ClientResponse]:
        """One POST, once the URL is admitted; its answer, not followed if it redirects."""
        await self._admit(url)
        async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            yield response

    async def _admit(self, url: str) -> None:
        """Before each request: the scheme, and an IP literal (a name is checked as it connects)."""
        parts = urlsplit(url)
        if self._guard.policy.https_only and parts.scheme != "https":
            raise TargetRefusedAtConnect("an http URL where only https is allowed")
        host = parts.hostname or ""
        if not aiohttp.helpers.is_ip_address(host):
            return  # a name: resolved and checked as each connection is made
        with _as_connect_refusal():  # a number, which aiohttp hands to the system unresolved
            if _is_ip_literal(host):
                self._guard.policy.check_host(host)
                self._guard.policy.check_addresses([host])
            else:  # "127.1", "2130706433": read the way the system will read it when connecting
                await self._guard.checked_addresses(host, parts.port or 0)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
