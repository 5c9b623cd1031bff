"""The one gate every outbound request passes (server-side request forgery, issue 10).

A CRM endpoint is chosen by the tenant, so the service must never be made to reach its own
network. Two checks, both here:

- ``check_url`` reads a URL the way urllib3 (under requests and the HubSpot SDK) reads it, and
  refuses anything two parsers could read differently: userinfo, backslashes, percent-encoded or
  non-ASCII hosts, and IP literals in any notation (``2130706433``, ``0177.0.0.1``, ``0x7f.1``,
  ``[::ffff:127.0.0.1]``).
- at connect time, the connection classes below resolve the host once, refuse the connection
  when any address is loopback, private, link-local (cloud metadata), shared (CGNAT), multicast,
  reserved or unspecified, and connect to exactly the address they checked: a DNS answer that
  changes between the check and the connect (rebinding) cannot swap it. TLS still verifies the
  certificate against the name and sends it as SNI, and the Host header keeps the name.

``test_hosts`` (``host:port``, the ``COMMATTR_CRM_TEST_HOSTS`` setting) are exempt, for local test
servers. Callers learn only ``UNREACHABLE`` for every network failure, so a refused or failed
connection cannot be used to scan ports; the reason is logged for the operator.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError, NewConnectionError
from urllib3.util import parse_url

from connectors.errors import ConnectorError, FatalError, RetriableError

logger = logging.getLogger(__name__)

UNREACHABLE = "could not reach the CRM"
Session = TypeVar("Session", bound=requests.Session)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
# Beyond ``is_global``: ranges some Python versions call global, and ranges that embed an IPv4
# address (NAT64, 6to4) whose embedded address is checked on its own.
_FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Blocked(ValueError):
    """A URL or address the guard refuses; ``reason`` is safe to show to whoever gave the URL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedRequest(requests.exceptions.ConnectionError):
    """Raised by the requests adapter: requests' own connection error, so callers treat it as one."""


class BlockedConnection(NewConnectionError):
    """Raised by the connection classes: urllib3's own connection error, likewise."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (tests replace this)."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def forbidden_address(text: str) -> bool:
    """True for any address the service must not reach on a tenant's behalf."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and forbidden_address(str(embedded)):
            return True
    return (
        not address.is_global
        or address.is_multicast
        or any(address in network for network in _FORBIDDEN_NETWORKS)
    )


def is_ip_literal(host: str) -> bool:
    """An IP address written any way a resolver or ``inet_aton`` would accept it."""
    bare = host.strip("[]").rstrip(".")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(bare)
        return True
    except OSError:
        pass
    # No top-level domain is numeric: "127.1", "2130706433", "0x7f.1" are addresses.
    return bool(_NUMERIC_LABEL.fullmatch(bare.rsplit(".", 1)[-1].lower()))


@dataclass(frozen=True)
class OutboundGuard:
    test_hosts: frozenset[str] = field(default_factory=frozenset)

    def allows_test_host(self, host: str, port: int) -> bool:
        return f"{host}:{port}" in self.test_hosts

    def check_url(self, url: str) -> Destination:
        """The destination of ``url`` as urllib3 would read it, or Blocked with the reason."""
        if any(char in url for char in "\\\t\r\n ") or not url.isascii():
            raise Blocked("the URL holds a backslash, a space or a non-ASCII character")
        authority = urlsplit(url).netloc
        if "@" in authority or "%" in authority:
            raise Blocked("the URL's host holds user information or percent-encoding")
        destination = _destination(url)
        if self.allows_test_host(destination.host, destination.port):
            return destination
        if destination.scheme != "https":
            raise Blocked("the URL must use https")
        if is_ip_literal(destination.host):
            raise Blocked("the URL must name a host, not an IP address")
        if not _HOST_NAME.fullmatch(destination.host.rstrip(".")):
            raise Blocked("the URL's host is not a valid host name")
        return destination

    def check_resolved(self, destination: Destination) -> list[str]:
        """The addresses to connect to, each checked; Blocked if any is forbidden.

        A name that does not resolve now gives no address (the connect-time check decides)."""
        try:
            addresses = resolve(destination.host, destination.port)
        except OSError:
            return []
        if not self.allows_test_host(destination.host, destination.port):
            for address in addresses:
                if forbidden_address(address):
                    raise Blocked("the host resolves to an address the service may not reach")
        return addresses

    def connect_addresses(self, host: str, port: int) -> list[str]:
        """For a connection about to open: the checked addresses, or Blocked."""
        name = host.rstrip(".")
        if not self.allows_test_host(name, port) and is_ip_literal(name):
            raise Blocked("an IP address is not a CRM host")
        try:
            addresses = resolve(name, port)
        except OSError as error:
            raise Blocked("the host does not resolve") from error
        if not self.allows_test_host(name, port) and any(map(forbidden_address, addresses)):
            raise Blocked("the host resolves to an address the service may not reach")
        if not addresses:
            raise Blocked("the host does not resolve")
        return addresses

    def protect(self, manager: PoolManager) -> PoolManager:
        """Make every connection of ``manager`` go through the guard (the HubSpot SDK's pool)."""
        manager.pool_classes_by_scheme = _pool_classes(self)
        manager.clear()
        return manager

    def mount(self, session: Session) -> Session:
        """Make every request of ``session`` go through the guard (simple-salesforce's session)."""
        adapter = GuardedAdapter(self)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session


def _destination(url: str) -> Destination:
    try:
        parsed = parse_url(url)
    except LocationParseError as error:
        raise Blocked("the URL cannot be parsed") from error
    split = urlsplit(url)
    scheme = (parsed.scheme or "").lower()
    host = (parsed.host or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise Blocked("the URL must be http(s)://host")
    try:
        split_port = split.port
    except ValueError as error:
        raise Blocked("the URL's port is not a number from 0 to 65535") from error
    if (split.hostname or "") != host.strip("[]") or split_port != parsed.port:
        raise Blocked("the URL reads differently to different parsers")
    return Destination(scheme, host, parsed.port or _DEFAULT_PORTS[scheme])


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with the URL checked per request and connections through the guard."""

    def __init__(self, guard: OutboundGuard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.guard.protect(self.poolmanager)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            self.guard.check_url(str(request.url))
        except Blocked as blocked:
            logger.warning("outbound request refused: %s", blocked.reason)
            raise BlockedRequest(blocked.reason, request=request) from None
        return super().send(request, *args, **kwargs)


class _GuardedConnection(HTTPConnection):
    """Resolves once, checks every address, connects to a checked address (never the name)."""

    guard: ClassVar[OutboundGuard]

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        try:
            addresses = self.guard.connect_addresses(name, self.port)
        except Blocked as blocked:
            logger.warning("outbound connection refused: %s", blocked.reason)
            raise BlockedConnection(self, blocked.reason) from None
        failure: Exception | None = None
        for address in addresses:
            self._dns_host = address
            try:
                return super()._new_conn()
            except (NewConnectionError, OSError) as error:
                failure = error
            finally:
                self._dns_host = name
        assert failure is not None
        raise failure


def _pool_classes(guard: OutboundGuard) -> dict[str, type[HTTPConnectionPool]]:
    plain = type("GuardedHTTPConnection", (_GuardedConnection,), {"guard": guard})
    secure = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"guard": guard})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type(
            "GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": secure}
        ),
    }


def _causes(error: BaseException) -> Sequence[BaseException]:
    seen: list[BaseException] = []
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(current.args)
    return seen


def network_failure(error: BaseException) -> ConnectorError:
    """Every network failure reads the same to the caller: a refused destination is final, any
    other failure (refused port, TLS, timeout, reset) may pass and is retried."""
    if any(
        isinstance(cause, (Blocked, BlockedRequest, BlockedConnection)) for cause in _causes(error)
    ):
        return FatalError(UNREACHABLE)
    logger.info("CRM connection failed: %s", type(error).__name__)
    return RetriableError(UNREACHABLE)
