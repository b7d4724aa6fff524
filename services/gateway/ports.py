"""What the gateway's routes need from its stores, as Protocols: PostgreSQL in the service
(the Pg* classes), in-memory fakes in the unit tests (tests/unit/fakes_gateway.py)."""

from __future__ import annotations  # `list` is also a method name here

from typing import Protocol

from contracts import CloudEvent
from services.gateway.dead_letters.store import LetterStatus
from services.gateway.fhir.requests import NewFhirSubscription
from services.gateway.fhir.resources import FhirSubscription, Notified
from services.gateway.inbox import InboxItem
from services.gateway.outbox import Accepted
from services.gateway.receipts.store import Receipt
from services.gateway.webhooks.queue import Status
from services.gateway.webhooks.subscriptions import DeliveryCounts, Subscription


class Outbox(Protocol):
    async def accept(self, event: CloudEvent) -> Accepted:
        """Store the event once (EventIdConflict for the same id with another body) and wake the relay."""


class Inbox(Protocol):
    async def read(self, after: int, limit: int) -> list[InboxItem]: ...

    async def latest(self, limit: int) -> list[InboxItem]:
        """Overdue receipts first (earliest deadline first), then the rest newest first; no receipts."""


class Receipts(Protocol):
    async def acknowledge(self, event_id: str, sender: str | None = None, unit: str | None = None) -> Receipt:
        """The receipt of a delivered event (NotInInbox, AmbiguousEventId), made once."""


class Subscriptions(Protocol):
    async def create(self, url: str, secret: str, event_types: list[str], from_seq: int | None) -> Subscription: ...

    async def list(self) -> list[Subscription]: ...

    async def get(self, subscription_id: str) -> tuple[Subscription, DeliveryCounts]: ...

    async def delete(self, subscription_id: str) -> None: ...


class Deliveries(Protocol):
    async def list(self, subscription_id: str, status: Status | None, after: int, limit: int) -> list[dict]: ...

    async def resend(self, subscription_id: str, seq: int) -> dict: ...

    async def resend_parked(self, subscription_id: str) -> int: ...


class FhirSubscriptions(Protocol):
    async def create(self, new: NewFhirSubscription) -> FhirSubscription: ...

    async def get(self, subscription_id: str) -> FhirSubscription: ...

    async def list(self) -> list[FhirSubscription]: ...

    async def delete(self, subscription_id: str) -> None: ...

    async def events(self, subscription_id: str, since: int, until: int | None, limit: int) -> list[Notified]: ...

    async def communication(self, seq: int) -> Notified | None: ...


class DeadLetters(Protocol):
    async def list(self, status: LetterStatus, after: int, limit: int) -> list[dict]: ...
