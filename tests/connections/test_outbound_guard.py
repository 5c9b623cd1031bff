"""The outbound guard: URLs read as the HTTP client reads them, every address checked, the
connection pinned to the checked address (issue 10, finding 1)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests
import trustme

from connectors.errors import FatalError, RetriableError
from connectors.outbound import (
    UNREACHABLE,
    Blocked,
    OutboundGuard,
    forbidden_address,
    is_ip_literal,
    network_failure,
)
from tests.connections.conftest import PUBLIC, Listener, Resolver

GUARD = OutboundGuard()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8451\\@x.my.salesforce.com",  # the issue's reproduction
        "https://user:pw@x.my.salesforce.com",
        "https://x.my.salesforce.com@127.0.0.1",
        "https://%31%32%37.0.0.1/",
        "https://x.my.salesforce.com%2f@evil.test/",
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/",
        "https://2130706433/",  # 127.0.0.1 as one decimal number
        "https://0177.0.0.1/",  # octal
        "https://0x7f.0.0.1/",  # hex
        "https://0x7f000001/",
        "https://127.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",  # 169.254.169.254, IPv4-mapped
        "https://\uff11\uff12\uff17.0.0.1/",  # fullwidth digits
        "http://x.my.salesforce.com/",
        "file:///etc/passwd",
        "https://x.my.salesforce.com:99999/",
        "https://x.my.salesforce.com /",
    ],
)
def test_urls_an_attacker_would_try_are_refused(url: str) -> None:
    with pytest.raises(Blocked):
        GUARD.check_url(url)


def test_a_plain_crm_url_passes() -> None:
    destination = GUARD.check_url("https://acme.my.salesforce.com")
    assert (destination.scheme, destination.host, destination.port) == (
        "https",
        "acme.my.salesforce.com",
        443,
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",  # shared address space (CGNAT)
        "100.100.100.200",  # a cloud metadata address inside it
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "fd00:ec2::254",  # a cloud metadata address (unique local)
        "fe80::1",
        "ff02::1",
    ],
)
def test_internal_addresses_are_forbidden(address: str) -> None:
    assert forbidden_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", PUBLIC, "2606:4700::1", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden_address(address)


@pytest.mark.parametrize("host", ["acme.my.salesforce.com", "api.hubapi.com", "x1.example"])
def test_host_names_are_not_ip_literals(host: str) -> None:
    assert not is_ip_literal(host)


def test_a_name_resolving_to_loopback_is_refused(resolver: Resolver) -> None:
    resolver.answers["evil.my.salesforce.com"] = [["127.0.0.1"]]
    with pytest.raises(Blocked):
        GUARD.check_resolved(GUARD.check_url("https://evil.my.salesforce.com"))


def test_one_internal_address_among_public_ones_is_refused(resolver: Resolver) -> None:
    resolver.answers["mixed.my.salesforce.com"] = [[PUBLIC, "10.0.0.7"]]
    with pytest.raises(Blocked):
        GUARD.check_resolved(GUARD.check_url("https://mixed.my.salesforce.com"))


# -- at connect time ---------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Listener]:
    opened = Listener()
    yield opened
    opened.close()


def guarded_session(guard: OutboundGuard) -> requests.Session:
    return guard.mount(requests.Session())


def test_dns_rebinding_cannot_swap_the_checked_address(
    resolver: Resolver, listener: Listener
) -> None:
    """Public when the connection is saved, loopback when the sync connects: refused, and the
    local port never sees a connection."""
    host = "rebind.my.salesforce.com"
    resolver.answers[host] = [[PUBLIC], ["127.0.0.1"]]
    url = f"https://{host}:{listener.port}/services/oauth2/token"
    GUARD.check_resolved(GUARD.check_url(url))  # as POST /v1/connections checks it
    with pytest.raises(requests.ConnectionError) as refused:
        guarded_session(GUARD).get(url, timeout=5)
    assert listener.accepted == 0
    assert network_failure(refused.value).detail == UNREACHABLE
    assert isinstance(network_failure(refused.value), FatalError)


def test_an_ip_literal_is_refused_at_connect_time_too(listener: Listener) -> None:
    with pytest.raises(requests.ConnectionError):
        guarded_session(GUARD).get(f"http://127.0.0.1:{listener.port}/", timeout=5)
    with pytest.raises(requests.ConnectionError):
        guarded_session(GUARD).get(f"https://2130706433:{listener.port}/", timeout=5)
    assert listener.accepted == 0


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.headers["Host"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only crm.example.test."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("crm.example.test").configure_cert(context)
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    yield server, ca
    server.shutdown()
    thread.join()


def test_the_connection_goes_to_the_checked_address_with_the_name_kept_for_tls_and_host(
    resolver: Resolver, tls_server: tuple[HTTPServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """crm.example.test exists only in the guard's resolver: the socket can only have reached
    127.0.0.1 through the address the guard checked. The certificate (issued for the name, not
    the address) verifies, so SNI and verification used the name; the Host header kept it."""
    server, ca = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    port = server.server_address[1]
    resolver.answers["crm.example.test"] = [["127.0.0.1"]]
    guard = OutboundGuard(frozenset({f"crm.example.test:{port}"}))
    response = guarded_session(guard).get(f"https://crm.example.test:{port}/", verify=str(ca))
    assert response.text == f"crm.example.test:{port}"
    assert resolver.lookups == ["crm.example.test"]  # one lookup: checked and connected


def test_network_failures_read_the_same_whatever_the_port_did() -> None:
    """Refused, reset, TLS failure or timeout: one message, so /test is no port scanner."""
    failures = [
        requests.exceptions.SSLError("wrong version number"),
        requests.ConnectionError("connection refused"),
        requests.Timeout("timed out"),
    ]
    assert {network_failure(error).detail for error in failures} == {UNREACHABLE}
    assert all(isinstance(network_failure(error), RetriableError) for error in failures)


def test_both_connectors_send_every_request_through_the_guard() -> None:
    """A connector built with no guard gets the strict one: its HTTP pools are the guarded ones."""
    from connectors.hubspot import HubSpotCredentials
    from connectors.hubspot.client import HubSpotClient
    from connectors.outbound import GuardedAdapter
    from connectors.retry import RetryPolicy
    from connectors.salesforce import SalesforceCredentials
    from connectors.salesforce.client import SalesforceClient

    hubspot = HubSpotClient(HubSpotCredentials(access_token="t"), RetryPolicy())
    pools = [
        c.rest_client.pool_manager for c in (hubspot._search.api_client, hubspot._tokens.api_client)
    ]
    assert all(pool.pool_classes_by_scheme["https"].ConnectionCls.guard == GUARD for pool in pools)
    salesforce = SalesforceClient(
        SalesforceCredentials(auth="password", username="u", password="p", security_token="s"),
        RetryPolicy(),
    )
    assert isinstance(
        salesforce._session.get_adapter("https://x.my.salesforce.com"), GuardedAdapter
    )
