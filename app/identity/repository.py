"""All SQL of identity statistics and suggestions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models import Account, Contact, Member, MemberLink


def categories(session: Session, workspace_id: int) -> list[tuple[str | None, bool, str, int]]:
    """(source, is_staff, category, members): category contact, lead_only, account_only or
    unmatched."""
    per_member = (
        select(
            Member.id,
            Member.source,
            Member.is_staff,
            func.count(MemberLink.contact_id).label("contacts"),
            func.count(MemberLink.lead_id).label("leads"),
            func.count(MemberLink.account_id).label("accounts"),
        )
        .outerjoin(MemberLink, MemberLink.member_id == Member.id)
        .where(Member.workspace_id == workspace_id)
        .group_by(Member.id, Member.source, Member.is_staff)
        .subquery()
    )
    category = case(
        (per_member.c.contacts > 0, "contact"),
        (per_member.c.leads > 0, "lead_only"),
        (per_member.c.accounts > 0, "account_only"),
        else_="unmatched",
    ).label("category")
    rows = session.execute(
        select(per_member.c.source, per_member.c.is_staff, category, func.count()).group_by(
            per_member.c.source, per_member.c.is_staff, category
        )
    )
    return [(source, bool(staff), str(cat), int(n)) for source, staff, cat, n in rows]


def members_by_method(session: Session, workspace_id: int) -> list[tuple[str, int]]:
    rows = session.execute(
        select(MemberLink.method, func.count(func.distinct(MemberLink.member_id)))
        .where(MemberLink.workspace_id == workspace_id)
        .group_by(MemberLink.method)
        .order_by(MemberLink.method)
    )
    return [(str(method), int(n)) for method, n in rows]


def unmatched_members(
    session: Session, workspace_id: int, *, after: int, limit: int
) -> list[Member]:
    linked = select(MemberLink.id).where(MemberLink.member_id == Member.id)
    return list(
        session.scalars(
            select(Member)
            .where(
                Member.workspace_id == workspace_id,
                Member.id > after,
                Member.is_staff.is_(False),
                ~linked.exists(),
            )
            .order_by(Member.id)
            .limit(limit)
        )
    )


def contacts_of_accounts(session: Session, account_ids: Sequence[int]) -> list[Any]:
    """(contact, account external_id, account domain) of the live contacts of these accounts."""
    if not account_ids:
        return []
    return list(
        session.execute(
            select(Contact, Account.external_id, Account.domain)
            .join(Account, Account.id == Contact.account_id)
            .where(Contact.account_id.in_(account_ids), Contact.deleted_at.is_(None))
            .order_by(Contact.id)
        )
    )
