"""How emails and domains are compared: trimmed and lower-cased."""

from __future__ import annotations


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
