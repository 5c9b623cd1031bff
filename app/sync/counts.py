"""Per-stream counts of a sync run, as CRM admins read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


class Tally(Protocol):
    @property
    def created(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    @property
    def unchanged(self) -> int: ...


@dataclass
class StreamCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0  # records that reference something this connection does not hold

    def classify(
        self, old: dict[str, Any] | None, new: dict[str, Any], compared: tuple[str, ...]
    ) -> bool:
        """Count one stored record: created, deleted, updated (undeletes included) or unchanged;
        answer whether it must be written (a deletion never seen alive is stored too: a merged
        loser's pointer to its survivor is needed)."""
        if old is None:
            if new["deleted_at"] is None:
                self.created += 1
            else:
                self.unchanged += 1
            return True
        if new["deleted_at"] is not None:
            if old["deleted_at"] is None:
                self.deleted += 1
                return True
            self.unchanged += 1
            return False
        if old["deleted_at"] is not None or any(old.get(c) != new.get(c) for c in compared):
            self.updated += 1
            return True
        self.unchanged += 1
        return False

    def add(self, tally: Tally) -> None:
        """Add what the database counted while merging a page (see ``classify``)."""
        self.created += tally.created
        self.updated += tally.updated
        self.deleted += tally.deleted
        self.unchanged += tally.unchanged

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
