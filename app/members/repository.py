"""All SQL of members: identities, merges, and the CRM records their emails and domains name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    and_,
    delete,
    false,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Contact,
    ContactEmail,
    IdentityKind,
    Lead,
    LinkMethod,
    Member,
    MemberIdentity,
    MemberLink,
    MemberLinkBlock,
    Touchpoint,
)
from app.models.base import UTCDateTime
from app.upsert import copy_rows, one_of

EMAIL = IdentityKind.EMAIL.value
CHUNK = 5_000

# (kind, platform, value) of one identity; emails have platform "".
Key = tuple[str, str, str]


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    wanted = sorted(set(values))
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


def member_ids_by_external_id(
    session: Session, workspace_id: int, external_ids: Iterable[str]
) -> dict[str, int]:
    """Member ids of these external_ids, also of records merged into another member."""
    found: dict[str, int] = {}
    for chunk in chunks(external_ids):
        rows = session.execute(
            select(Member.external_id, Member.id).where(
                Member.workspace_id == workspace_id, one_of(session, Member.external_id, chunk)
            )
        )
        found.update({external_id: id_ for external_id, id_ in rows})
        missing = [e for e in chunk if e not in found]
        if missing:
            found.update(
                owners(session, workspace_id, [(IdentityKind.ALIAS, "", e) for e in missing])
            )
    return found


def owners(session: Session, workspace_id: int, keys: Iterable[Key]) -> dict[Any, int]:
    """The member owning each identity key that has one; answers key -> member id, and for alias
    keys, the alias's external_id -> member id."""
    by_kind: dict[tuple[str, str], set[str]] = defaultdict(set)
    for kind, platform, value in keys:
        by_kind[(kind, platform)].add(value)
    found: dict[Any, int] = {}
    for (kind, platform), values in by_kind.items():
        for chunk in chunks(values):
            rows = session.execute(
                select(MemberIdentity.value, MemberIdentity.member_id).where(
                    MemberIdentity.workspace_id == workspace_id,
                    MemberIdentity.kind == kind,
                    MemberIdentity.platform == platform,
                    one_of(session, MemberIdentity.value, chunk),
                )
            )
            for value, member_id in rows:
                found[value if kind == IdentityKind.ALIAS else (kind, platform, value)] = member_id
    return found


def member_ids_by_email(
    session: Session, workspace_id: int, emails: Iterable[str]
) -> dict[str, int]:
    found = owners(session, workspace_id, [(EMAIL, "", e) for e in emails])
    return {key[2]: member_id for key, member_id in found.items()}


def identities_of_members(
    session: Session, workspace_id: int, member_ids: Iterable[int]
) -> list[MemberIdentity]:
    found: list[MemberIdentity] = []
    for chunk in chunks(member_ids):
        found += session.scalars(
            select(MemberIdentity)
            .where(
                MemberIdentity.workspace_id == workspace_id,
                one_of(session, MemberIdentity.member_id, chunk),
            )
            .order_by(MemberIdentity.kind, MemberIdentity.platform, MemberIdentity.value)
        )
    return found


def emails_of_members(
    session: Session, workspace_id: int, member_ids: Iterable[int]
) -> dict[int, list[str]]:
    emails: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks(member_ids):
        rows = session.execute(
            select(MemberIdentity.member_id, MemberIdentity.value).where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.kind == EMAIL,
                one_of(session, MemberIdentity.member_id, chunk),
            )
        )
        for member_id, value in rows:
            emails[member_id].append(value)
    return emails


def members_by_id(session: Session, member_ids: Iterable[int]) -> dict[int, Member]:
    found: dict[int, Member] = {}
    for chunk in chunks(member_ids):
        found.update(
            {
                m.id: m
                for m in session.scalars(select(Member).where(one_of(session, Member.id, chunk)))
            }
        )
    return found


def all_member_ids(session: Session, workspace_id: int) -> list[int]:
    return list(session.scalars(select(Member.id).where(Member.workspace_id == workspace_id)))


def contacts_by_email(
    session: Session, workspace_id: int, emails: Iterable[str]
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for chunk in chunks(emails):
        rows = session.execute(
            select(Contact.email_normalized, Contact.id).where(
                Contact.workspace_id == workspace_id,
                Contact.deleted_at.is_(None),
                one_of(session, Contact.email_normalized, chunk),
            )
        )
        for email, contact_id in rows:
            found[str(email)].append(contact_id)
        for email, contact_id in session.execute(  # the other emails the CRM holds for a contact
            select(ContactEmail.email_normalized, ContactEmail.contact_id)
            .join(Contact, Contact.id == ContactEmail.contact_id)
            .where(
                ContactEmail.workspace_id == workspace_id,
                one_of(session, ContactEmail.email_normalized, chunk),
                Contact.deleted_at.is_(None),
            )
        ):
            if contact_id not in found[str(email)]:
                found[str(email)].append(contact_id)
    return found


def leads_by_email(
    session: Session, workspace_id: int, emails: Iterable[str]
) -> dict[str, list[tuple[int, int | None]]]:
    found: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for chunk in chunks(emails):
        rows = session.execute(
            select(Lead.email_normalized, Lead.id, Lead.converted_contact_id).where(
                Lead.workspace_id == workspace_id,
                Lead.deleted_at.is_(None),
                one_of(session, Lead.email_normalized, chunk),
            )
        )
        for email, lead_id, converted_contact_id in rows:
            found[str(email)].append((lead_id, converted_contact_id))
    return found


def accounts_by_domain(
    session: Session, workspace_id: int, domains: Iterable[str]
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for chunk in chunks(domains):
        rows = session.execute(
            select(Account.domain, Account.id).where(
                Account.workspace_id == workspace_id,
                Account.deleted_at.is_(None),
                one_of(session, Account.domain, chunk),
            )
        )
        for domain, account_id in rows:
            found[str(domain)].append(account_id)
    return found


def manual_links(
    session: Session, workspace_id: int, member_ids: Iterable[int]
) -> dict[int, list[MemberLink]]:
    found: dict[int, list[MemberLink]] = defaultdict(list)
    for chunk in chunks(member_ids):
        for link in session.scalars(
            select(MemberLink).where(
                MemberLink.workspace_id == workspace_id,
                one_of(session, MemberLink.member_id, chunk),
                MemberLink.method == LinkMethod.MANUAL,
            )
        ):
            found[link.member_id].append(link)
    return found


def blocked_targets(
    session: Session, workspace_id: int, member_ids: Iterable[int]
) -> dict[int, set[tuple[str, int]]]:
    """(target kind, target id) of every link removed by hand, per member."""
    found: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for chunk in chunks(member_ids):
        for block in session.scalars(
            select(MemberLinkBlock).where(
                MemberLinkBlock.workspace_id == workspace_id,
                one_of(session, MemberLinkBlock.member_id, chunk),
            )
        ):
            found[block.member_id].add(target_of(block))
    return found


def target_of(row: MemberLink | MemberLinkBlock) -> tuple[str, int]:
    if row.contact_id is not None:
        return ("contact", row.contact_id)
    if row.lead_id is not None:
        return ("lead", row.lead_id)
    assert row.account_id is not None
    return ("account", row.account_id)


def replace_automatic_links(
    session: Session, workspace_id: int, member_ids: list[int], links: list[dict[str, Any]]
) -> None:
    """Drop the members' computed links (manual ones stay) and write the new ones."""
    for chunk in chunks(member_ids):
        session.execute(
            delete(MemberLink).where(
                MemberLink.workspace_id == workspace_id,
                one_of(session, MemberLink.member_id, chunk),
                MemberLink.method != LinkMethod.MANUAL,
            )
        )
    if links:
        session.execute(insert(MemberLink), links)


def set_staff(session: Session, member_ids: list[int], staff_ids: set[int]) -> None:
    """Staff flags of these members: two set-based updates, touching only the ones that change."""
    for flag, ids in ((True, staff_ids), (False, set(member_ids) - staff_ids)):
        for chunk in chunks(ids):
            session.execute(
                update(Member)
                .where(one_of(session, Member.id, chunk), Member.is_staff.is_not(flag))
                .values(is_staff=flag)
            )


def delete_claimed_identities(
    session: Session, workspace_id: int, claimed_by: Iterable[str]
) -> None:
    """Forget the emails, user ids and handles these member records brought (aliases stay)."""
    for chunk in chunks(claimed_by):
        session.execute(
            delete(MemberIdentity).where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.kind != IdentityKind.ALIAS,
                one_of(session, MemberIdentity.claimed_by, chunk),
            )
        )


def delete_identities(session: Session, workspace_id: int, keys: Sequence[Key]) -> None:
    for start in range(0, len(keys), CHUNK):
        session.execute(
            delete(MemberIdentity).where(
                MemberIdentity.workspace_id == workspace_id,
                tuple_(MemberIdentity.kind, MemberIdentity.platform, MemberIdentity.value).in_(
                    keys[start : start + CHUNK]
                ),
            )
        )


def insert_members(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(Member), rows[start : start + CHUNK])


_new_emails = Table(
    "member_new_email",
    MetaData(),
    Column("email", String),
    Column("registrable_domain", String),
    prefixes=["TEMPORARY"],
)


def insert_email_members(
    session: Session, workspace_id: int, emails: Sequence[tuple[str, str]], *, now: datetime
) -> dict[str, int]:
    """New members keyed by these emails (with their registrable domains), each owning its email
    and nothing else, in two set-based statements; answers their ids."""
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_new_emails.name}")
    _new_emails.create(connection)
    copy_rows(session, _new_emails, emails)
    new = _new_emails.c
    session.execute(
        insert(Member).from_select(
            ["workspace_id", "external_id", "is_staff", "properties", "created_at"],
            select(
                literal(workspace_id, BigInteger),
                new.email,
                false(),
                literal({}, Member.__table__.c.properties.type),
                literal(now, UTCDateTime()),
            ),
        )
    )
    created = (
        select(Member.id, new.email, new.registrable_domain)
        .join(Member, and_(Member.workspace_id == workspace_id, Member.external_id == new.email))
        .subquery()
    )
    session.execute(
        insert(MemberIdentity).from_select(
            [
                "workspace_id",
                "member_id",
                "kind",
                "platform",
                "value",
                "raw_value",
                "claimed_by",
                "registrable_domain",
            ],
            select(
                literal(workspace_id, BigInteger),
                created.c.id,
                literal(EMAIL),
                literal(""),
                created.c.email,
                created.c.email,
                created.c.email,
                created.c.registrable_domain,
            ),
        )
    )
    ids = {email: id_ for id_, email, _ in session.execute(select(created))}
    connection.exec_driver_sql(f"DROP TABLE {_new_emails.name}")
    return ids


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(MemberIdentity), rows)


def merge_into(session: Session, workspace_id: int, survivor: int, losers: list[int]) -> None:
    """Move the losers' touches, identities, manual links and removed links to the survivor, and
    delete the losers (their computed links go with them and are made again for the survivor)."""
    for model in (Touchpoint, MemberIdentity, MemberLinkBlock):
        session.execute(
            update(model)
            .where(model.workspace_id == workspace_id, model.member_id.in_(losers))
            .values(member_id=survivor)
        )
    session.execute(
        update(MemberLink)
        .where(
            MemberLink.workspace_id == workspace_id,
            MemberLink.member_id.in_(losers),
            MemberLink.method == LinkMethod.MANUAL,
        )
        .values(member_id=survivor)
    )
    session.execute(delete(Member).where(Member.id.in_(losers)))


def member_by_external_id(session: Session, workspace_id: int, external_id: str) -> Member | None:
    member_id = member_ids_by_external_id(session, workspace_id, [external_id]).get(external_id)
    return None if member_id is None else session.get(Member, member_id)


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


def links_of_member(session: Session, member_id: int) -> list[tuple[int, str, str, str, Any]]:
    """(link id, target kind, target external_id, method, confidence) of each link, contacts
    first."""
    return links_of_members(session, [member_id]).get(member_id, [])


def members_with_emails_or_domains(
    session: Session, workspace_id: int, *, emails: Iterable[str], domains: Iterable[str]
) -> set[int]:
    """Members owning one of these emails, or an email under the registrable domain of one of
    these domains (an indexed lookup)."""
    found = set(member_ids_by_email(session, workspace_id, emails).values())
    for chunk in chunks(domains):
        found.update(
            session.scalars(
                select(MemberIdentity.member_id).where(
                    MemberIdentity.workspace_id == workspace_id,
                    one_of(session, MemberIdentity.registrable_domain, chunk),
                )
            )
        )
    return found


def members_linked_to(
    session: Session,
    *,
    contact_ids: Iterable[int],
    lead_ids: Iterable[int],
    account_ids: Iterable[int],
) -> set[int]:
    found: set[int] = set()
    for column, ids in (
        (MemberLink.contact_id, contact_ids),
        (MemberLink.lead_id, lead_ids),
        (MemberLink.account_id, account_ids),
    ):
        for chunk in chunks(ids):
            found.update(
                session.scalars(select(MemberLink.member_id).where(one_of(session, column, chunk)))
            )
    return found


def emails_of_people(
    session: Session, model: type[Contact] | type[Lead], ids: Iterable[int]
) -> set[str]:
    """Every email of these contacts (the primary one and the others the CRM holds) or leads."""
    found: set[str] = set()
    for chunk in chunks(ids):
        found.update(
            e
            for e in session.scalars(
                select(model.email_normalized).where(one_of(session, model.id, chunk))
            )
            if e
        )
        if model is Contact:
            found.update(
                session.scalars(
                    select(ContactEmail.email_normalized).where(
                        one_of(session, ContactEmail.contact_id, chunk)
                    )
                )
            )
    return found


def domains_of_accounts(session: Session, ids: Iterable[int]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(ids):
        found.update(
            d
            for d in session.scalars(
                select(Account.domain).where(one_of(session, Account.id, chunk))
            )
            if d
        )
    return found


def crm_record_ids(
    session: Session,
    model: type[Contact] | type[Lead] | type[Account],
    workspace_id: int,
    external_id: str,
    source: str | None,
) -> list[int]:
    """Ids of the live records with this external_id (of this source, when given)."""
    query = select(model.id).where(
        model.workspace_id == workspace_id,
        model.external_id == external_id,
        model.deleted_at.is_(None),
    )
    if source is not None:
        query = query.where(model.source == source)
    return list(session.scalars(query.order_by(model.id)))


def link(session: Session, workspace_id: int, member_id: int, link_id: int) -> MemberLink | None:
    return session.scalar(
        select(MemberLink).where(
            MemberLink.id == link_id,
            MemberLink.workspace_id == workspace_id,
            MemberLink.member_id == member_id,
        )
    )


def unblock(session: Session, member_id: int, column: str, target_id: int) -> None:
    session.execute(
        delete(MemberLinkBlock).where(
            MemberLinkBlock.member_id == member_id,
            getattr(MemberLinkBlock, column) == target_id,
        )
    )


def has_manual_link(session: Session, member_id: int, column: str, target_id: int) -> bool:
    return (
        session.scalar(
            select(MemberLink.id).where(
                MemberLink.member_id == member_id,
                MemberLink.method == LinkMethod.MANUAL,
                getattr(MemberLink, column) == target_id,
            )
        )
        is not None
    )


def alias_row(workspace_id: int, member_id: int, external_id: str) -> dict[str, Any]:
    """The identity that keeps a merged record's external_id reaching its member."""
    return {
        "workspace_id": workspace_id,
        "member_id": member_id,
        "kind": IdentityKind.ALIAS.value,
        "platform": "",
        "value": external_id,
        "raw_value": external_id,
        "claimed_by": external_id,
        "registrable_domain": None,
    }


def member_page(
    session: Session,
    workspace_id: int,
    *,
    after: int,
    limit: int,
    matched: bool | None = None,
    account_ids: Sequence[int] = (),
    source: str | None = None,
    method: str | None = None,
) -> list[Member]:
    """Members in id order after ``after``, filtered."""
    query = select(Member).where(Member.workspace_id == workspace_id, Member.id > after)
    linked = select(MemberLink.id).where(MemberLink.member_id == Member.id)
    if matched is not None:
        query = query.where(linked.exists() if matched else ~linked.exists())
    if account_ids:
        contacts = select(Contact.id).where(Contact.account_id.in_(account_ids))
        query = query.where(
            linked.where(
                MemberLink.account_id.in_(account_ids) | MemberLink.contact_id.in_(contacts)
            ).exists()
        )
    if source is not None:
        query = query.where(Member.source == source)
    if method is not None:
        query = query.where(linked.where(MemberLink.method == method).exists())
    return list(session.scalars(query.order_by(Member.id).limit(limit)))


def links_of_members(
    session: Session, member_ids: Sequence[int]
) -> dict[int, list[tuple[int, str, str, str, Any]]]:
    """(link id, target kind, target external_id, method, confidence) per member."""
    found: dict[int, list[tuple[int, str, str, str, Any]]] = defaultdict(list)
    for kind, model, column in (
        ("contact", Contact, MemberLink.contact_id),
        ("lead", Lead, MemberLink.lead_id),
        ("account", Account, MemberLink.account_id),
    ):
        for chunk in chunks(member_ids):
            rows = session.execute(
                select(
                    MemberLink.member_id,
                    MemberLink.id,
                    model.external_id,
                    MemberLink.method,
                    MemberLink.confidence,
                )
                .join(MemberLink, column == model.id)
                .where(one_of(session, MemberLink.member_id, chunk))
                .order_by(model.external_id)
            )
            for member_id, id_, ext, method, confidence in rows:
                found[member_id].append((id_, kind, ext, str(method), confidence))
    return found
