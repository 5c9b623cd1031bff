from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.models import Account, Contact, Lead, Member, MemberIdentity, MemberLink

EMAIL = "email"


CHUNK = 5_000


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    wanted = sorted(set(values))
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


def member_ids_by_external_id(
    session: Session, workspace_id: int, external_ids: Iterable[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(external_ids):
        rows = session.execute(
            select(Member.external_id, Member.id).where(
                Member.workspace_id == workspace_id, Member.external_id.in_(chunk)
            )
        )
        found.update({external_id: id_ for external_id, id_ in rows})
    return found


def member_ids_by_email(
    session: Session, workspace_id: int, emails: Iterable[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(emails):
        rows = session.execute(
            select(MemberIdentity.value, MemberIdentity.member_id).where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.kind == EMAIL,
                MemberIdentity.value.in_(chunk),
            )
        )
        found.update({value: member_id for value, member_id in rows})
    return found


def emails_of_members(
    session: Session, workspace_id: int, member_ids: Iterable[int]
) -> dict[int, list[str]]:
    emails: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(member_ids):
        rows = session.execute(
            select(MemberIdentity.member_id, MemberIdentity.value).where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.kind == EMAIL,
                MemberIdentity.member_id.in_(chunk),
            )
        )
        for member_id, value in rows:
            emails[member_id].append(value)
    return emails


def all_member_ids(session: Session, workspace_id: int) -> list[int]:
    return list(session.scalars(select(Member.id).where(Member.workspace_id == workspace_id)))


def contacts_by_email(session: Session, workspace_id: int) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    rows = session.execute(
        select(Contact.email_normalized, Contact.id).where(
            Contact.workspace_id == workspace_id,
            Contact.deleted_at.is_(None),
            Contact.email_normalized.is_not(None),
        )
    )
    for email, contact_id in rows:
        found[str(email)].append(contact_id)
    return found


def leads_by_email(session: Session, workspace_id: int) -> dict[str, list[tuple[int, int | None]]]:
    found: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    rows = session.execute(
        select(Lead.email_normalized, Lead.id, Lead.converted_contact_id).where(
            Lead.workspace_id == workspace_id,
            Lead.deleted_at.is_(None),
            Lead.email_normalized.is_not(None),
        )
    )
    for email, lead_id, converted_contact_id in rows:
        found[str(email)].append((lead_id, converted_contact_id))
    return found


def accounts_by_domain(session: Session, workspace_id: int) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    rows = session.execute(
        select(Account.domain, Account.id).where(
            Account.workspace_id == workspace_id,
            Account.deleted_at.is_(None),
            Account.domain.is_not(None),
        )
    )
    for domain, account_id in rows:
        found[str(domain)].append(account_id)
    return found


def replace_automatic_links(
    session: Session, workspace_id: int, member_ids: list[int], links: list[dict[str, Any]]
) -> None:
    """Drop the members' computed links (manual ones stay) and write the new ones."""
    for start in range(0, len(member_ids), 5_000):
        chunk = member_ids[start : start + 5_000]
        session.execute(
            delete(MemberLink).where(
                MemberLink.workspace_id == workspace_id,
                MemberLink.member_id.in_(chunk),
                MemberLink.method != "manual",
            )
        )
    if links:
        session.execute(insert(MemberLink), links)


def set_staff(session: Session, member_ids: list[int], staff_ids: set[int]) -> None:
    rows = [{"id": m, "is_staff": m in staff_ids} for m in member_ids]
    if rows:
        session.execute(update(Member), rows)


def member_external_ids_by_email(
    session: Session, workspace_id: int, emails: Iterable[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(emails):
        rows = session.execute(
            select(MemberIdentity.value, Member.external_id)
            .join(Member, Member.id == MemberIdentity.member_id)
            .where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.kind == EMAIL,
                MemberIdentity.value.in_(chunk),
            )
        )
        found.update({value: external_id for value, external_id in rows})
    return found


def replace_identities(
    session: Session, workspace_id: int, member_ids: list[int], identities: list[dict[str, Any]]
) -> None:
    for start in range(0, len(member_ids), 5_000):
        session.execute(
            delete(MemberIdentity).where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.kind == EMAIL,
                MemberIdentity.member_id.in_(member_ids[start : start + 5_000]),
            )
        )
    if identities:
        session.execute(insert(MemberIdentity), identities)


def member_by_external_id(session: Session, workspace_id: int, external_id: str) -> Member | None:
    return session.scalar(
        select(Member).where(Member.workspace_id == workspace_id, Member.external_id == external_id)
    )


def accounts_of_linked_contacts(session: Session, member_id: int) -> list[str]:
    rows = session.scalars(
        select(Account.external_id)
        .join(Contact, Contact.account_id == Account.id)
        .join(MemberLink, MemberLink.contact_id == Contact.id)
        .where(MemberLink.member_id == member_id)
        .distinct()
        .order_by(Account.external_id)
    )
    return list(rows)


def links_of_member(session: Session, member_id: int) -> list[tuple[str, str, str]]:
    """(target kind, target external_id, method) of each link, contacts first."""
    found: list[tuple[str, str, str]] = []
    for kind, model, column in (
        ("contact", Contact, MemberLink.contact_id),
        ("lead", Lead, MemberLink.lead_id),
        ("account", Account, MemberLink.account_id),
    ):
        rows = session.execute(
            select(model.external_id, MemberLink.method)
            .join(MemberLink, column == model.id)
            .where(MemberLink.member_id == member_id)
            .order_by(model.external_id)
        )
        found += [(kind, external_id, str(method)) for external_id, method in rows]
    return found
