"""Which member records of a batch are one person, before anything is written.

Records that share an email or a platform user id, directly or through a chain of records, or
through a member already stored, are one person (a connected component). The survivor is the
oldest stored member of the component, else its first record. Handles are not proof of identity
(platforms recycle them): a handle moves to whoever claims it last.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.exceptions import InvalidInput
from app.members.emails import normalize_email
from app.members.repository import Key
from app.members.schemas import MemberIn
from app.models import IdentityKind

EMAIL = IdentityKind.EMAIL.value
USER_ID = IdentityKind.USER_ID.value
HANDLE = IdentityKind.HANDLE.value


@dataclass(frozen=True)
class Record:
    """One member record of a batch with its identities normalized (raw values beside)."""

    row: int
    member: MemberIn
    keys: dict[Key, str]

    @property
    def external_id(self) -> str:
        return self.member.external_id

    def proofs(self) -> list[Key]:
        """The keys that make two records one person: emails and platform user ids."""
        return [k for k in self.keys if k[0] != HANDLE]


@dataclass
class Group:
    """Records of one person, and the stored members they name (oldest first)."""

    records: list[Record] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    shared: set[Key] = field(default_factory=set)


def describe(key: Key) -> str:
    kind, platform, value = key
    return f"email {value}" if kind == EMAIL else f"{platform} {kind.replace('_', ' ')} {value}"


def records_of(members: list[MemberIn]) -> list[Record]:
    """Normalize every record; a row with a bad email answers 422 naming every bad row."""
    errors: list[dict[str, object]] = []
    records = []
    for row, member in enumerate(members):
        keys: dict[Key, str] = {}
        for position, raw in enumerate(member.emails):
            loc = ["body", "members", row, "emails", position]
            if not raw.strip():
                if not member.identities:
                    errors.append(
                        _error(loc, "blank email: give an email address or a platform user id")
                    )
                continue
            email = normalize_email(raw)
            if email is None:
                errors.append(_error(loc, f"'{raw}' is not an email address"))
                continue
            keys.setdefault((EMAIL, "", email), raw.strip())
        for identity in member.identities:
            keys.setdefault((USER_ID, identity.platform, identity.user_id), identity.user_id)
            if identity.handle:
                handle = identity.handle.strip().lstrip("@")
                keys.setdefault((HANDLE, identity.platform, handle.lower()), handle)
        records.append(Record(row=row, member=member, keys=keys))
    if errors:
        raise InvalidInput(errors)
    return records


def _error(loc: list[object], msg: str) -> dict[str, object]:
    return {"loc": loc, "msg": msg, "type": "value_error"}


class _Components:
    """Union-find over records (int rows), stored members ("m", id) and identity keys."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, node: object) -> object:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: object, b: object) -> None:
        self.parent[self.find(a)] = self.find(b)


def group(
    records: list[Record], by_external_id: dict[str, int], owners: dict[Key, int]
) -> list[Group]:
    """Connected components of the batch, in the order of their first record."""
    components = _Components()
    for record in records:
        components.join(record.row, ("e", record.external_id))
        if record.external_id in by_external_id:
            components.join(record.row, ("m", by_external_id[record.external_id]))
        for key in record.proofs():
            components.join(record.row, ("k", key))
            if key in owners:
                components.join(record.row, ("m", owners[key]))
    groups: dict[object, Group] = {}
    for record in records:
        groups.setdefault(components.find(record.row), Group()).records.append(record)
    for found in groups.values():
        _fill(found, by_external_id, owners)
    return list(groups.values())


def _fill(found: Group, by_external_id: dict[str, int], owners: dict[Key, int]) -> None:
    """The stored members of a group, and the keys two of its persons share."""
    claimants: dict[Key, set[object]] = defaultdict(set)
    members: set[int] = set()
    for record in found.records:
        person: object = by_external_id.get(record.external_id, record.external_id)
        if isinstance(person, int):
            members.add(person)
        for key in record.proofs():
            claimants[key].add(person)
            if key in owners:
                claimants[key].add(owners[key])
                members.add(owners[key])
    found.member_ids = sorted(members)
    found.shared = {key for key, persons in claimants.items() if len(persons) > 1}
