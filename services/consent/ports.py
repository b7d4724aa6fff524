"""What the consent service layer needs from storage, as Protocols: PostgreSQL implements them
in `services/consent/stores.py`, the unit tests in memory (`tests/unit/fakes_consent.py`).

Rows are mappings with the columns of the `consents`, `consent_events` and `audit` tables.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

Row = Mapping[str, Any]


class AccessRecorder(Protocol):
    async def record(self, accesses: list[Any]) -> None:
        """Append entries (services/runtime/access_log.Access) to the access log."""


class AccessLogReader(AccessRecorder, Protocol):
    async def search(self, principal: str, person: str | None = None) -> list[dict]:
        """What `principal`'s own staff and systems looked at (of one person), newest first."""


class ConsentStore(Protocol):
    async def grant(self, record: Mapping[str, Any], by: str) -> Row:
        """Insert the consent and its `granted` change, in one transaction; the stored row."""

    async def of_person(self, pseudonym: str) -> list[Row]:
        """The person's consents, oldest recorded first."""

    async def by_id(self, consent_id: UUID) -> Row | None: ...

    async def revoke(self, consent_id: UUID, by: str, reason: str | None = None) -> Row | None:
        """Mark it revoked with its `revoked` change, in one transaction, only once every batch of
        the gate that read it has committed; None if it already was revoked."""

    async def history(self, consent_id: UUID) -> list[Row]:
        """The consent's changes (kind, occurred_at, event_id), oldest first."""


class AuditStore(Protocol):
    async def visible_to(self, pseudonym: str, principal: str) -> list[Row]:
        """The decisions about the person's events that `principal` sent or received."""

    async def seen_by(self, pseudonym: str, principal: str, lookback: timedelta) -> tuple[datetime, list[Row]]:
        """The database's now, and the person's events since `now - lookback` that `principal` sent
        or received (event_id, principal, type, category, time), once each."""
