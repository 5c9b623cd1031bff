from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CountBySource(BaseModel):
    source: str | None = Field(description="The platform members came from; null: not given.")
    members: int = Field(description="Members from it.")
    matched: int = Field(description="Of those, members linked to a contact, lead or account.")


class CountByMethod(BaseModel):
    method: str = Field(description="email, converted_lead, domain, parent_domain or manual.")
    members: int = Field(description="Members with at least one link found this way.")


class IdentityStats(BaseModel):
    members: int = Field(description="Members in the workspace.")
    matched_to_contact: int = Field(description="Members linked to at least one contact.")
    matched_to_lead_only: int = Field(description="Members linked to leads but no contact.")
    matched_to_account_only: int = Field(description="Members linked to an account only.")
    unmatched: int = Field(description="Members linked to nothing.")
    staff: int = Field(description="Members on a staff domain.")
    match_rate: float = Field(description="Share of non-staff members linked to anything.")
    by_source: list[CountBySource] = Field(description="The same counts per platform.")
    by_method: list[CountByMethod] = Field(description="Members per link method.")


class Candidate(BaseModel):
    target: str = Field(description="contact: the CRM record the member may be.")
    external_id: str = Field(description="The contact's CRM id.")
    source: str = Field(description="The contact's CRM source.")
    name: str | None = Field(description="The contact's name.")
    account: str | None = Field(description="external_id of the contact's account.")
    reason: str = Field(description="Why it may be the member.")
    confidence: float = Field(description="How likely, from 0 to 1.")
    confirm: dict[str, Any] = Field(
        description="The one call that confirms it: method, path and JSON body."
    )


class Suggestion(BaseModel):
    member: str = Field(description="external_id of the unmatched member.")
    name: str | None = Field(description="The member's name.")
    emails: list[str] = Field(description="The member's emails.")
    candidates: list[Candidate] = Field(description="Likely matches, most likely first.")


class SuggestionPage(BaseModel):
    items: list[Suggestion] = Field(description="Unmatched members with likely matches.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
