"""Where a paged read stands (meltano singer-sdk style): the next page token, a finished flag, and
loop detection, since a server that hands out the same token twice would otherwise be read forever."""

from __future__ import annotations

from connectors.errors import FatalError


class Pagination:
    """Follows page tokens (REST nextRecordsUrl, Bulk API 2.0 Sforce-Locator) until none is left."""

    def __init__(self) -> None:
        self.finished = False
        self.next_token: str | None = None
        self._seen: set[str] = set()

    def advance(self, next_token: str | None) -> None:
        """Record the token the last page pointed to; None (or empty) ends the read."""
        if not next_token:
            self.finished = True
            self.next_token = None
            return
        if next_token in self._seen:
            raise FatalError(f"Salesforce returned the page token {next_token} twice")
        self._seen.add(next_token)
        self.next_token = next_token
