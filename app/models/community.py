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
    MANUAL = "manual"


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(255))
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class MemberIdentity(Base):
    """One way to recognise a member; emails are stored trimmed and lower-cased in ``value``."""

    __tablename__ = "member_identity"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "value"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="email")
    value: Mapped[str] = mapped_column(String(320))
    raw_value: Mapped[str] = mapped_column(String(320))


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
        Index(None, "contact_id", "occurred_at"),
        Index(None, "lead_id", "occurred_at"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    activity_type_id: Mapped[int] = mapped_column(
        Id, ForeignKey("activity_type.id", ondelete="RESTRICT"), index=True
    )
    program_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("program.id", ondelete="SET NULL"), index=True
    )
    occurred_at: Mapped[datetime]
    member_id: Mapped[int | None] = mapped_column(Id, ForeignKey("member.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contact.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(Id, ForeignKey("lead.id", ondelete="CASCADE"))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
