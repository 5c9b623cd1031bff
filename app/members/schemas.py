from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.bounds import Properties, Text

PLATFORM_PATTERN = r"^[a-z0-9][a-z0-9_.\-]{0,31}$"


class PlatformIdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(
        pattern=PLATFORM_PATTERN, description="The platform: slack, github, discourse..."
    )
    user_id: Text = Field(
        min_length=1, max_length=128, description="The user's id on that platform (U024BE7LH)."
    )
    handle: Text | None = Field(
        None, min_length=1, max_length=128, description="The user's handle there (octocat)."
    )


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Text = Field(
        min_length=1, max_length=128, description="The member's id in the community platform."
    )
    source: str | None = Field(
        None, pattern=PLATFORM_PATTERN, description="The platform the record comes from."
    )
    name: Text | None = Field(None, max_length=255, description="Display name.")
    emails: list[Annotated[Text, Field(max_length=320)]] = Field(
        default_factory=list,
        max_length=50,
        description="Every email address the member uses; blank ones are ignored when the member "
        "has a platform identity.",
    )
    identities: list[PlatformIdentityIn] = Field(
        default_factory=list, max_length=20, description="User ids and handles on platforms."
    )
    properties: Properties = Field(default_factory=dict, description="Free attributes.")


class MemberBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[MemberIn] = Field(max_length=10_000, description="Up to 10,000 members.")


class MergeOut(BaseModel):
    member: str = Field(description="external_id of the member the records now are.")
    merged: list[str] = Field(description="external_ids of the records merged into it.")
    shared: list[str] = Field(description="The identities they share, e.g. `email jo@acme.com`.")


class MemberBatchResult(BaseModel):
    records: int = Field(description="Member records received.")
    suppressed: int = Field(description="Of those, records of erased people: not stored.")
    members: int = Field(description="Distinct members written (created or updated).")
    created: int = Field(description="Of those, new members.")
    matched: int = Field(description="Of those, members linked to a contact, lead or account.")
    merges: list[MergeOut] = Field(
        description="Records that share an email or platform user id are one person: each merge."
    )


class MemberLinkOut(BaseModel):
    id: int = Field(description="Link id (for DELETE /v1/members/{external_id}/links/{id}).")
    target: str = Field(description="contact, lead or account.")
    external_id: str = Field(description="The CRM record's external_id.")
    method: str = Field(
        description="How the link was found: email, converted_lead, domain, parent_domain, manual."
    )
    confidence: float = Field(description="How sure the method is, from 0 to 1.")


class IdentityOut(BaseModel):
    kind: str = Field(description="email, user_id, handle, or alias (a merged record's id).")
    platform: str = Field(description="The platform of a user id or handle; empty for others.")
    value: str = Field(description="The normalized value.")


class MemberOut(BaseModel):
    external_id: str = Field(description="The member's id in the community platform.")
    source: str | None = Field(description="The platform the record came from.")
    name: str | None = Field(description="Display name.")
    emails: list[str] = Field(description="Normalized email addresses.")
    identities: list[IdentityOut] = Field(
        description="Platform user ids and handles, and the ids of records merged into it."
    )
    is_staff: bool = Field(description="On one of the workspace's own email domains.")
    staff_reason: str | None = Field(description="Why the member is staff.")
    links: list[MemberLinkOut] = Field(description="CRM records the member resolves to.")
    account: str | None = Field(description="external_id of the member's account, if any.")
    account_method: str | None = Field(
        description="contact (the account of its linked contacts), domain (unique email "
        "domain), parent_domain (the registrable domain above a subdomain), manual, or "
        "several_accounts (its contacts are at two or more accounts: no single account, account "
        "is null)."
    )


class MatchStats(BaseModel):
    members: int = Field(description="Members in the workspace.")
    matched_to_contact: int = Field(description="Members linked to at least one contact.")
    matched_to_lead_only: int = Field(description="Members linked to leads but no contact.")
    matched_to_account_only: int = Field(description="Members linked to an account by domain only.")
    unmatched: int = Field(description="Members linked to nothing.")
    staff: int = Field(description="Members on a staff domain.")
    match_rate: float = Field(description="Share of non-staff members linked to anything.")


class MemberListItem(BaseModel):
    external_id: str = Field(description="The member's id in the community platform.")
    source: str | None = Field(description="The platform the record came from.")
    name: str | None = Field(description="Display name.")
    emails: list[str] = Field(description="Normalized email addresses.")
    is_staff: bool = Field(description="On one of the workspace's own email domains.")
    matched: str = Field(
        description="contact (linked to a contact), lead_only, account_only or unmatched."
    )
    links: list[MemberLinkOut] = Field(description="CRM records the member resolves to.")


class MemberPage(BaseModel):
    items: list[MemberListItem] = Field(description="Members in the order they were created.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Literal["contact", "lead", "account"] = Field(description="What to link to.")
    external_id: Text = Field(
        min_length=1, max_length=64, description="The CRM record's external_id."
    )
    source: Text | None = Field(
        None,
        max_length=32,
        description="The record's CRM source, needed only when two sources share the id.",
    )


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: Text = Field(min_length=1, max_length=128, description="The member that remains.")
    members: list[Annotated[Text, Field(max_length=128)]] = Field(
        min_length=1, max_length=100, description="external_ids of the members merged into it."
    )
