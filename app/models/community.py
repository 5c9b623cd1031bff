"""The community side: members and their identities and links, activity types, programs, touchpoints."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, id_pk, workspace_fk


class Category(enum.StrEnum):
    """The SPACES categories of community activity, and marketing (never community)."""

    SUPPORT = "support"
    PRODUCT = "product"
    ACQUISITION = "acquisition"
    CONTRIBUTION = "contribution"
    ENGAGEMENT = "engagement"
    SUCCESS = "success"
    MARKETING = "marketing"


class LinkMethod(enum.StrEnum):
    EMAIL = "email"
    CONVERTED_LEAD = "converted_lead"
    DOMAIN = "domain"
    PARENT_DOMAIN = "parent_domain"
    MANUAL = "manual"


class IdentityKind(enum.StrEnum):
    """An email (platform ""), a platform's user id or handle, or the external_id of a member
    record merged into this member (``alias``)."""

    EMAIL = "email"
    USER_ID = "user_id"
    HANDLE = "handle"
    ALIAS = "alias"


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    external_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(
        String(64), doc="the community platform the record came from (discourse, slack, csv...)"
    )
    name: Mapped[str | None] = mapped_column(String(255))
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class MemberIdentity(Base):
    """One way to recognise a member, owned by one member of the workspace.

    Emails are stored trimmed and lower-cased in ``value`` (platform ""); handles lower-cased;
    user ids as the platform gives them. ``claimed_by`` is the external_id of the member record
    that brought the identity, so a record sent again replaces its own identities only, even after
    it was merged into another member.
    """

    __tablename__ = "member_identity"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "platform", "value"),
        Index(None, "workspace_id", "registrable_domain"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="email")
    platform: Mapped[str] = mapped_column(String(32), default="")
    value: Mapped[str] = mapped_column(String(320))
    raw_value: Mapped[str] = mapped_column(String(320))
    claimed_by: Mapped[str] = mapped_column(String(128))
    registrable_domain: Mapped[str | None] = mapped_column(
        String(255), doc="of an email: its registrable domain (acme.com for jo@eu.acme.com)"
    )


class MemberLink(Base):
    """A member linked to exactly one contact, lead or account, with how the link was found."""

    __tablename__ = "member_link"
    __table_args__ = (
        CheckConstraint(
            "CAST(contact_id IS NOT NULL AS INTEGER) + CAST(lead_id IS NOT NULL AS INTEGER)"
            " + CAST(account_id IS NOT NULL AS INTEGER) = 1",
            name="one_target",
        ),
        Index(None, "workspace_id", "member_id"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("member.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("lead.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[LinkMethod] = mapped_column(
        Enum(
            LinkMethod, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    confidence: Mapped[Decimal] = mapped_column(
        Numeric(4, 3), default=Decimal(1), doc="how sure the method is, from 0 to 1"
    )


class MemberLinkBlock(Base):
    """A link removed by hand: resolution never makes it again for that member."""

    __tablename__ = "member_link_block"
    __table_args__ = (
        CheckConstraint(
            "CAST(contact_id IS NOT NULL AS INTEGER) + CAST(lead_id IS NOT NULL AS INTEGER)"
            " + CAST(account_id IS NOT NULL AS INTEGER) = 1",
            name="one_target",
        ),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contact.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(Id, ForeignKey("lead.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(Id, ForeignKey("account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class ActivityType(Base):
    __tablename__ = "activity_type"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        CheckConstraint(
            "NOT (category = 'marketing' AND is_community)", name="marketing_not_community"
        ),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(
        Enum(Category, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    weight: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(1))
    is_community: Mapped[bool] = mapped_column(Boolean)
    unit_cost: Mapped[Decimal | None] = mapped_column(
        Numeric(18, 6), doc="cost of one touch, in the reporting currency's major unit"
    )


class Program(Base):
    __tablename__ = "program"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    cost: Mapped[int] = mapped_column(BigInteger, default=0, doc="minor units of `currency`")
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


def _present(column: str) -> dict[str, Any]:
    """Index options restricting it to the rows where ``column`` is not null, on both databases."""
    where = text(f"{column} IS NOT NULL")
    return {"postgresql_where": where, "sqlite_where": where}


class Touchpoint(Base):
    """One interaction of one person (a member, or a CRM contact or lead) at one instant."""

    __tablename__ = "touchpoint"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        CheckConstraint(
            "CAST(member_id IS NOT NULL AS INTEGER) + CAST(contact_id IS NOT NULL AS INTEGER)"
            " + CAST(lead_id IS NOT NULL AS INTEGER) = 1",
            name="one_person",
        ),
        Index(None, "member_id", "occurred_at"),
        # Most touches are a member's: the contact, lead and program indexes hold only the
        # touches that have one (cheaper to write; lookups by a value use them all the same).
        Index(None, "contact_id", "occurred_at", **_present("contact_id")),
        Index(None, "lead_id", "occurred_at", **_present("lead_id")),
        Index(None, "program_id", **_present("program_id")),
    )

    id: Mapped[int] = id_pk()
    # no index of its own: the unique key (workspace_id, source, external_id) starts with it
    workspace_id: Mapped[int] = mapped_column(Id, ForeignKey("workspace.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    activity_type_id: Mapped[int] = mapped_column(
        Id, ForeignKey("activity_type.id", ondelete="RESTRICT"), index=True
    )
    program_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("program.id", ondelete="SET NULL")
    )
    occurred_at: Mapped[datetime]
    member_id: Mapped[int | None] = mapped_column(Id, ForeignKey("member.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contact.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(Id, ForeignKey("lead.id", ondelete="CASCADE"))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
