"""The file import of CRM records, for users without API access and for the demo company."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.bounds import (
    Count,
    Day,
    Flag,
    Instant,
    MajorAmount,
    NonNegativeMajorAmount,
    Properties,
    Text,
)

OpportunityType = Literal["new_business", "expansion", "renewal", "other"]
ExternalId = Field(min_length=1, max_length=64, description="The record's id in the CRM.")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountIn(_Record):
    external_id: Text = ExternalId
    name: Text = Field(min_length=1, max_length=255, description="Account name.")
    domain: Text | None = Field(None, max_length=255, description="Website or email domain.")
    employees: Count | None = Field(None, ge=0, le=2**31 - 1, description="Number of employees.")
    annual_revenue: NonNegativeMajorAmount | None = Field(
        None, description="Annual revenue, major units."
    )
    properties: Properties = Field(default_factory=dict, description="Extra CRM fields.")


class ContactIn(_Record):
    external_id: Text = ExternalId
    account: Text | None = Field(
        None, max_length=128, description="external_id of the contact's account."
    )
    name: Text | None = Field(None, max_length=255, description="Full name.")
    email: Text | None = Field(None, max_length=320, description="Email address.")
    created_at: Instant = Field(description="When the CRM record was created.")
    properties: Properties = Field(default_factory=dict, description="Extra CRM fields.")


class LeadIn(_Record):
    external_id: Text = ExternalId
    name: Text | None = Field(None, max_length=255, description="Full name.")
    company: Text | None = Field(None, max_length=255, description="Company as typed on the lead.")
    email: Text | None = Field(None, max_length=320, description="Email address.")
    created_at: Instant = Field(description="When the lead was created.")
    converted_contact: Text | None = Field(
        None, max_length=64, description="external_id of the contact this lead was converted into."
    )
    converted_at: Instant | None = Field(None, description="When it was converted.")
    properties: Properties = Field(default_factory=dict, description="Extra CRM fields.")


class OpportunityIn(_Record):
    external_id: Text = ExternalId
    name: Text | None = Field(None, max_length=255, description="Opportunity name.")
    account: Text | None = Field(None, max_length=128, description="external_id of its account.")
    type: OpportunityType = Field("other", description="new_business, expansion, renewal, other.")
    stage_name: Text | None = Field(None, max_length=100, description="CRM stage label.")
    pipeline: Text | None = Field(None, max_length=100, description="CRM pipeline label.")
    is_closed: Flag = Field(description="Closed (won or lost).")
    is_won: Flag = Field(description="Closed won.")
    amount: MajorAmount | None = Field(
        None, description="Amount in major units of `currency` (e.g. 10000.01); null if unknown."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the amount.")
    created_at: Instant = Field(description="When the opportunity was created.")
    close_date: Day | None = Field(
        None, description="CRM close date (a local date: the close is the end of that day)."
    )
    properties: Properties = Field(default_factory=dict, description="Extra CRM fields.")

    @model_validator(mode="after")
    def _won_is_closed(self) -> OpportunityIn:
        if self.is_won and not self.is_closed:
            raise ValueError("is_won: a won opportunity must be closed")
        if self.is_closed and self.close_date is None:
            raise ValueError("close_date: a closed opportunity needs its close date")
        return self


class ContactRoleIn(_Record):
    external_id: Text = ExternalId
    opportunity: Text = Field(max_length=64, description="external_id of the opportunity.")
    contact: Text = Field(max_length=64, description="external_id of the contact.")
    role: Text | None = Field(None, max_length=100, description="Role label, e.g. Decision Maker.")
    is_primary: Flag = Field(False, description="The primary contact of the opportunity.")


class CampaignMemberIn(_Record):
    external_id: Text = ExternalId
    activity_type: Text = Field(
        max_length=64, description="Key of a marketing activity type, e.g. webinar_attended."
    )
    occurred_at: Instant = Field(description="When the person responded or attended.")
    contact: Text | None = Field(
        None, max_length=128, description="external_id of the contact (or give `lead`)."
    )
    lead: Text | None = Field(
        None, max_length=128, description="external_id of the lead (or give `contact`)."
    )
    campaign: Text | None = Field(
        None, max_length=128, description="Campaign name or id, kept in properties."
    )
    program: Text | None = Field(
        None, max_length=128, description="Key of the program it belongs to."
    )

    @model_validator(mode="after")
    def _one_person(self) -> CampaignMemberIn:
        if (self.contact is None) == (self.lead is None):
            raise ValueError("contact: give exactly one of contact or lead")
        return self


class ExchangeRateIn(_Record):
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code converted from.")
    to: str = Field(pattern=r"^[A-Z]{3}$", description="Must be the reporting currency.")
    rate: NonNegativeMajorAmount = Field(
        gt=0, lt=10**12, description="Units of `to` for one unit of `currency`."
    )
    valid_from: Day = Field(description="First date the rate applies (inclusive).")
    valid_to: Day = Field(description="Last date the rate applies (inclusive).")

    @model_validator(mode="after")
    def _range(self) -> ExchangeRateIn:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to: must not be before valid_from")
        return self


class CrmImport(_Record):
    source: Text = Field(
        "import",
        min_length=1,
        max_length=32,
        description="Where the records come from (e.g. salesforce); with external_id, their key.",
    )
    accounts: list[AccountIn] = Field(default_factory=list, description="Accounts (companies).")
    contacts: list[ContactIn] = Field(default_factory=list, description="Contacts.")
    leads: list[LeadIn] = Field(default_factory=list, description="Leads.")
    opportunities: list[OpportunityIn] = Field(default_factory=list, description="Deals.")
    contact_roles: list[ContactRoleIn] = Field(
        default_factory=list, description="Contacts on opportunities."
    )
    campaign_members: list[CampaignMemberIn] = Field(
        default_factory=list, description="Campaign responses, stored as marketing touchpoints."
    )
    exchange_rates: list[ExchangeRateIn] = Field(
        default_factory=list, description="Dated rates to the reporting currency."
    )


class ImportCounts(BaseModel):
    accounts: int = Field(description="Accounts written.")
    contacts: int = Field(description="Contacts written.")
    leads: int = Field(description="Leads written.")
    opportunities: int = Field(description="Opportunities written.")
    contact_roles: int = Field(description="Contact roles written.")
    campaign_members: int = Field(description="Campaign touchpoints written.")
    exchange_rates: int = Field(description="Exchange rates written.")
    members_resolved: int = Field(
        description="Members whose links were recomputed: those the imported records concern."
    )


class ExchangeRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rates: list[ExchangeRateIn] = Field(
        max_length=10_000,
        description="Dated rates to the reporting currency; a rate replaces the one of the same "
        "currency and valid_from; ranges of one currency may not overlap.",
    )
