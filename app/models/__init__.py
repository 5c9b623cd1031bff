"""Every table of the service; importing this package registers them all on ``Base.metadata``."""

from app.models.base import Base
from app.models.community import (
    ActivityType,
    Category,
    IdentityKind,
    LinkMethod,
    Member,
    MemberIdentity,
    MemberLink,
    MemberLinkBlock,
    Program,
    Touchpoint,
)
from app.models.crm import (
    Account,
    AccountLink,
    Contact,
    ContactEmail,
    ExchangeRate,
    Lead,
    Opportunity,
    OpportunityContact,
)
from app.models.idempotency import IdempotencyKey
from app.models.imports import ImportChunk, ImportJob, ImportRejection, ImportSource
from app.models.privacy import Erasure, RunAmendment, Suppression
from app.models.runs import (
    AttributionRun,
    Credit,
    CreditRollup,
    DefaultRun,
    ReportRollup,
    RunOpportunity,
)
from app.models.sync import CrmConnection, SyncCursor, SyncJob, SyncRun
from app.models.webhooks import WebhookDelivery, WebhookSource
from app.models.workspace import ApiKey, AuditEvent, Workspace

__all__ = [
    "Account",
    "AccountLink",
    "ActivityType",
    "ApiKey",
    "AttributionRun",
    "AuditEvent",
    "Base",
    "Category",
    "Contact",
    "ContactEmail",
    "Credit",
    "CreditRollup",
    "CrmConnection",
    "DefaultRun",
    "Erasure",
    "ExchangeRate",
    "IdempotencyKey",
    "IdentityKind",
    "ImportChunk",
    "ImportJob",
    "ImportRejection",
    "ImportSource",
    "Lead",
    "LinkMethod",
    "Member",
    "MemberIdentity",
    "MemberLink",
    "MemberLinkBlock",
    "Opportunity",
    "OpportunityContact",
    "Program",
    "ReportRollup",
    "RunAmendment",
    "RunOpportunity",
    "Suppression",
    "SyncCursor",
    "SyncJob",
    "SyncRun",
    "Touchpoint",
    "WebhookDelivery",
    "WebhookSource",
    "Workspace",
]
