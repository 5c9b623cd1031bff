from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.bounds import Count, Finite, Text
from app.catalog.schemas import KEY_PATTERN

OBJECTS = (
    "account",
    "contact",
    "lead",
    "opportunity",
    "opportunity_contact",
    "account_link",
    "campaign_touch",
)
OpportunityType = Literal["new_business", "expansion", "renewal", "other"]


class SalesforceCredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["salesforce"] = Field(description="salesforce.")
    auth: Literal["refresh_token", "password"] = Field(
        description="OAuth refresh token of a connected app, or username + password + token."
    )
    instance_url: str | None = Field(
        None, description="https://<my-domain>.my.salesforce.com; needed for refresh_token auth."
    )
    domain: Literal["login", "test"] = Field(
        "login", description="login for production, test for a sandbox (password auth)."
    )
    client_id: Text | None = Field(None, max_length=4096, description="Connected app consumer key.")
    client_secret: Text | None = Field(
        None, max_length=4096, description="Connected app consumer secret."
    )
    refresh_token: Text | None = Field(None, max_length=4096, description="OAuth refresh token.")
    username: Text | None = Field(None, max_length=4096, description="Integration user name.")
    password: Text | None = Field(None, max_length=4096, description="Integration user password.")
    security_token: Text | None = Field(
        None, max_length=4096, description="The user's security token."
    )
    api_version: str = Field("59.0", pattern=r"^\d+\.\d$", description="REST API version.")
    default_currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="Used only when the org's currency is unreadable."
    )


class HubSpotCredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["hubspot"] = Field(description="hubspot.")
    access_token: Text | None = Field(
        None, max_length=4096, description="Private app access token."
    )
    client_id: Text | None = Field(None, max_length=4096, description="OAuth app client id.")
    client_secret: Text | None = Field(
        None, max_length=4096, description="OAuth app client secret."
    )
    refresh_token: Text | None = Field(None, max_length=4096, description="OAuth refresh token.")
    base_url: str = Field("https://api.hubapi.com", description="API base URL.")
    default_currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="Currency of deals that name none."
    )


Credentials = Annotated[SalesforceCredentialsIn | HubSpotCredentialsIn, Field(discriminator="kind")]


class FieldMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_field: Text | None = Field(
        None, max_length=128, description="Field holding the amount (default Amount / amount)."
    )
    type_map: dict[Text, OpportunityType] = Field(
        default_factory=dict,
        max_length=1000,
        description="CRM opportunity type (Salesforce Type, HubSpot dealtype) -> our type.",
    )
    extra_fields: dict[Text, list[Text]] = Field(
        default_factory=dict,
        max_length=len(OBJECTS),
        description="Object -> CRM fields stored in `properties`.",
    )
    campaign_activity_type: Text = Field(
        "campaign_response",
        max_length=64,
        description="Activity type key given to campaign members.",
    )
    marketing_activity_types: dict[Text, Text] = Field(
        default_factory=dict,
        max_length=16,
        description="HubSpot marketing event participation state (registered, attended, "
        "cancelled, no_show) -> activity type key (default hubspot_event_{state}).",
    )

    @model_validator(mode="after")
    def _known_objects(self) -> FieldMappingIn:
        for name in self.extra_fields:
            if name not in OBJECTS:
                raise ValueError(f"extra_fields: unknown object '{name}'")
        for state, key in self.marketing_activity_types.items():
            if not re.match(KEY_PATTERN, key):
                raise ValueError(f"marketing_activity_types: '{key}' ({state}) is not a key")
        return self


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200, description="Display name.")
    credentials: Credentials = Field(description="How to authenticate; never returned.")
    field_mapping: FieldMappingIn = Field(
        default_factory=FieldMappingIn, description="Field choices of this CRM."
    )
    api_budget_share: Finite = Field(
        0.5,
        gt=0,
        le=1,
        description="Stop syncing (resumable) past this share of the daily API limit.",
    )
    overlap_seconds: Count = Field(
        300, ge=0, le=86_400, description="Re-read this much before the cursor, for late writes."
    )


class ConnectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, min_length=1, max_length=200, description="Display name.")
    credentials: Credentials | None = Field(None, description="Replace the credentials.")
    field_mapping: FieldMappingIn | None = Field(None, description="Replace the field mapping.")
    api_budget_share: Finite | None = Field(None, gt=0, le=1, description="Daily API share.")
    overlap_seconds: Count | None = Field(None, ge=0, le=86_400, description="Cursor overlap.")


class ConnectionOut(BaseModel):
    id: int = Field(description="Connection id.")
    kind: str = Field(description="salesforce or hubspot.")
    name: str = Field(description="Display name.")
    credential_fields: list[str] = Field(
        description="Which credential fields are set (their values are never returned)."
    )
    field_mapping: FieldMappingIn = Field(description="Field choices of this CRM.")
    api_budget_share: Finite = Field(description="Daily API share a sync may use.")
    overlap_seconds: Count = Field(description="Cursor overlap in seconds.")
    syncing_run_id: int | None = Field(description="The sync run holding the connection, if any.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")


class ConnectionTestResult(BaseModel):
    authenticated: bool = Field(description="The CRM accepted the credentials.")
    missing: list[str] = Field(description="Objects or fields needed but not readable.")
    scopes: dict[str, bool] = Field(
        default_factory=dict,
        description="Each scope (HubSpot) or object (Salesforce) the sync reads, and whether "
        "these credentials may read it.",
    )
    api_used: int | None = Field(description="API calls used today, as the CRM reports.")
    api_limit: int | None = Field(description="Daily API call limit.")
    detail: str | None = Field(description="What went wrong, if anything.")
