"""A throwaway certificate authority for local HTTPS fakes (trustme): clients that only build
https:// URLs (simple-salesforce) talk to a test server that presents a certificate for 127.0.0.1."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class LocalTls:
    server_context: ssl.SSLContext
    ca_path: Path  # PEM of the CA: point REQUESTS_CA_BUNDLE here


def local_tls(directory: Path) -> LocalTls:
    """A server context for 127.0.0.1 and localhost, and the CA that signed it written to
    ``directory``."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_path = directory / "fake-ca.pem"
    authority.cert_pem.write_to_path(str(ca_path))
    return LocalTls(context, ca_path)
