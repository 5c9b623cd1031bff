"""What each stream reads: the sObject, its fields, and how a row becomes a record; plus the org
facts (described fields, default currency) the field lists depend on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from connectors.base import FieldMapping, Record, RecordKind
from connectors.errors import FatalError
from connectors.salesforce import records
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.records import RecordBuilder, Row

SYSTEM_FIELDS = ("SystemModstamp", "IsDeleted")
CURRENCY_FIELD = "CurrencyIsoCode"
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class ObjectSpec:
    kind: RecordKind
    name: str
    fields: tuple[str, ...]
    convert: Callable[[RecordBuilder, Row], Record]
    mergeable: bool = False  # has MasterRecordId: merges leave the loser pointing at the survivor
    optional: bool = False  # an org may not have the object: then the stream reads nothing


SPECS: dict[RecordKind, ObjectSpec] = {
    spec.kind: spec
    for spec in (
        ObjectSpec(
            RecordKind.ACCOUNT,
            "Account",
            ("Id", "Name", "Website", "NumberOfEmployees", "AnnualRevenue"),
            records.account,
            mergeable=True,
        ),
        ObjectSpec(
            RecordKind.CONTACT,
            "Contact",
            ("Id", "AccountId", "Name", "Email", "CreatedDate"),
            records.contact,
            mergeable=True,
        ),
        ObjectSpec(
            RecordKind.LEAD,
            "Lead",
            (
                "Id",
                "Name",
                "Company",
                "Email",
                "CreatedDate",
                "IsConverted",
                "ConvertedContactId",
                "ConvertedDate",
            ),
            records.lead,
            mergeable=True,
        ),
        ObjectSpec(
            RecordKind.OPPORTUNITY,
            "Opportunity",
            (
                "Id",
                "Name",
                "AccountId",
                "Type",
                "StageName",
                "IsClosed",
                "IsWon",
                "CreatedDate",
                "CloseDate",
            ),
            records.opportunity,
        ),
        ObjectSpec(
            RecordKind.OPPORTUNITY_CONTACT,
            "OpportunityContactRole",
            ("Id", "OpportunityId", "ContactId", "Role", "IsPrimary"),
            records.opportunity_contact,
        ),
        ObjectSpec(
            RecordKind.ACCOUNT_LINK,
            "AccountContactRelation",
            ("Id", "AccountId", "ContactId", "IsDirect", "Roles"),
            records.account_contact_relation,
            optional=True,  # only in orgs with Contacts to Multiple Accounts turned on
        ),
        ObjectSpec(
            RecordKind.CAMPAIGN_TOUCH,
            "CampaignMember",
            (
                "Id",
                "CampaignId",
                "Campaign.Name",
                "ContactId",
                "LeadId",
                "Status",
                "HasResponded",
                "FirstRespondedDate",
                "CreatedDate",
            ),
            records.campaign_touch,
        ),
    )
}


def required_fields(spec: ObjectSpec, mapping: FieldMapping) -> tuple[str, ...]:
    """Every field the stream cannot do without: its own, the system fields, the mapped amount
    and the connection's extra fields. Names are checked because they are pasted into SOQL."""
    names = [*spec.fields, *SYSTEM_FIELDS]
    if spec.mergeable:
        names.append("MasterRecordId")
    if spec.kind is RecordKind.OPPORTUNITY:
        names.append(mapping.amount_field or "Amount")
    names.extend(extra_fields(spec, mapping))
    for name in names:
        if not _FIELD_NAME.match(name):
            raise FatalError(f"not a Salesforce field name: {name!r}")
    return _unique(names)


def extra_fields(spec: ObjectSpec, mapping: FieldMapping) -> tuple[str, ...]:
    return tuple(mapping.extra_fields.get(spec.kind.value, ()))


@dataclass(frozen=True)
class Described:
    """The fields (and relationship names, for dotted paths) the API user can read."""

    fields: frozenset[str]
    relationships: frozenset[str]

    def has(self, path: str) -> bool:
        relationship, dot, _ = path.partition(".")
        return relationship in self.relationships if dot else path in self.fields


class OrgFacts:
    """Described objects and the default currency, read once per connector."""

    def __init__(self, client: SalesforceClient) -> None:
        self._client = client
        self._described: dict[str, Described] = {}
        self._currency: str | None = None

    def describe(self, object_name: str) -> Described:
        if object_name not in self._described:
            body = self._client.call(lambda sf: sf.restful(f"sobjects/{object_name}/describe/"))
            fields = body.get("fields", []) if isinstance(body, dict) else []
            self._described[object_name] = Described(
                fields=frozenset(str(item["name"]) for item in fields),
                relationships=frozenset(
                    str(item["relationshipName"]) for item in fields if item.get("relationshipName")
                ),
            )
        return self._described[object_name]

    def has_object(self, object_name: str) -> bool:
        try:
            self.describe(object_name)
        except FatalError:
            return False
        return True

    def multi_currency(self) -> bool:
        return CURRENCY_FIELD in self.describe("Opportunity").fields

    @property
    def fallback_currency(self) -> str:
        return self._client.credentials.default_currency

    def default_currency(self) -> str:
        """The org's corporate currency, for single-currency orgs whose rows carry none."""
        if self._currency is None:
            self._currency = self._read_default_currency()
        return self._currency

    def _read_default_currency(self) -> str:
        soql = "SELECT DefaultCurrencyIsoCode FROM Organization LIMIT 1"
        try:
            rows = self._client.call(lambda sf: sf.query(soql)).get("records") or []
        except FatalError:
            rows = []
        value = rows[0].get("DefaultCurrencyIsoCode") if rows else None
        return str(value) if value else self.fallback_currency


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
