from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(
        min_length=1, max_length=128, description="The member's id in the community platform."
    )
    name: str | None = Field(None, max_length=255, description="Display name.")
    emails: list[str] = Field(
        default_factory=list, max_length=50, description="Every email address the member uses."
    )
    properties: dict[str, Any] = Field(default_factory=dict, description="Free attributes.")


class MemberBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[MemberIn] = Field(max_length=10_000, description="Up to 10,000 members.")


class MemberBatchResult(BaseModel):
    members: int = Field(description="Members written (created or updated).")
    matched: int = Field(description="Of those, members linked to a contact, lead or account.")


class MemberLinkOut(BaseModel):
    target: str = Field(description="contact, lead or account.")
    external_id: str = Field(description="The CRM record's external_id.")
    method: str = Field(
        description="How the link was found: email, converted_lead, domain, manual."
    )


class MemberOut(BaseModel):
    external_id: str = Field(description="The member's id in the community platform.")
    name: str | None = Field(description="Display name.")
    emails: list[str] = Field(description="Normalized email addresses.")
    is_staff: bool = Field(description="On one of the workspace's own email domains.")
    links: list[MemberLinkOut] = Field(description="CRM records the member resolves to.")
    account: str | None = Field(description="external_id of the member's account, if any.")
    account_method: str | None = Field(
        description="contact (the account of its linked contacts), domain (unique email "
        "domain), or several_accounts (its contacts are at two or more accounts: no single "
        "account, account is null)."
    )


class MatchStats(BaseModel):
    members: int = Field(description="Members in the workspace.")
    matched_to_contact: int = Field(description="Members linked to at least one contact.")
    matched_to_lead_only: int = Field(description="Members linked to leads but no contact.")
    matched_to_account_only: int = Field(description="Members linked to an account by domain only.")
    unmatched: int = Field(description="Members linked to nothing.")
    staff: int = Field(description="Members on a staff domain.")
    match_rate: float = Field(description="Share of non-staff members linked to anything.")
