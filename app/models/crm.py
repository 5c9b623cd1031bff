"""CRM records, synced or imported: accounts, contacts, leads, opportunities and their contact roles.

Every row is keyed by (workspace, source, external_id) and soft-deleted (``deleted_at``) when the
CRM reports it deleted, so an undelete restores it with its links.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, id_pk, workspace_fk


class SyncedRecord:
    """Columns every CRM record has."""

    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    synced_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    merged_into: Mapped[str | None] = mapped_column(
        String(64), doc="external_id of the record this one was merged into"
    )


class Account(SyncedRecord, Base):
    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index(None, "workspace_id", "domain"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    employees: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[int | None] = mapped_column(BigInteger)


class Contact(SyncedRecord, Base):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index(None, "workspace_id", "email_normalized"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    account_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]


class ContactEmail(Base):
    """A contact's emails besides ``contact.email`` that the CRM holds (HubSpot
    ``hs_additional_emails``): members resolve through them like through the primary one."""

    __tablename__ = "contact_email"
    __table_args__ = (
        UniqueConstraint("contact_id", "email_normalized"),
        Index(None, "workspace_id", "email_normalized"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contact.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))


class Lead(SyncedRecord, Base):
    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index(None, "workspace_id", "email_normalized"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str | None] = mapped_column(String(255))
    company: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    converted_contact_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    converted_at: Mapped[datetime | None]


class Opportunity(SyncedRecord, Base):
    __tablename__ = "opportunity"
    __table_args__ = (UniqueConstraint("workspace_id", "source", "external_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    account_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="other")
    stage_name: Mapped[str | None] = mapped_column(String(100))
    pipeline: Mapped[str | None] = mapped_column(String(100))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[int | None] = mapped_column(BigInteger, doc="minor units of `currency`")
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    close_date: Mapped[date | None] = mapped_column(Date)


class OpportunityContact(SyncedRecord, Base):
    __tablename__ = "opportunity_contact"
    __table_args__ = (UniqueConstraint("workspace_id", "source", "external_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    opportunity_id: Mapped[int] = mapped_column(
        Id, ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(
        Id, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str | None] = mapped_column(String(100))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountLink(SyncedRecord, Base):
    """A contact or an opportunity associated with an account: the primary association and every
    other one (a HubSpot contact or deal with several companies, a Salesforce contact related to
    several accounts through AccountContactRelation). ``contact.account_id`` and
    ``opportunity.account_id`` stay the primary account."""

    __tablename__ = "account_link"
    __table_args__ = (UniqueConstraint("workspace_id", "source", "external_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    account_id: Mapped[int] = mapped_column(
        Id, ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    opportunity_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str | None] = mapped_column(String(100))


class ExchangeRate(Base):
    """One rate to the workspace's reporting currency, valid on every date of [valid_from, valid_to]."""

    __tablename__ = "exchange_rate"
    __table_args__ = (UniqueConstraint("workspace_id", "currency", "valid_from"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
