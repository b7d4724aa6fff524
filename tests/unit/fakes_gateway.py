"""In-memory fakes of the gateway's stores (services/gateway/ports.py), and an app built on them.

`FakeGateway().app(...)` is the real gateway app (routes, auth, error answers) whose bootstrap
yields these fakes instead of connecting to PostgreSQL and Kafka.
"""

from __future__ import annotations

import hashlib
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager

from contracts import CloudEvent
from services.gateway.app import create_app
from services.gateway.bootstrap import Deps
from services.gateway.errors import (
    AmbiguousEventId,
    DeliveryNotFound,
    EventIdConflict,
    NotInInbox,
    SubscriptionNotFound,
)
from services.gateway.fhir.requests import NewFhirSubscription
from services.gateway.fhir.resources import FhirSubscription, Notified
from services.gateway.inbox import InboxItem
from services.gateway.outbox import Accepted
from services.gateway.receipts.decisions import Delivery, acknowledgement_event
from services.gateway.receipts.store import Receipt
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks.subscriptions import Subscription, subscription_uuid
from services.gateway.webhooks.targets import Resolver, resolve
from services.runtime.auth import Caller, Role, TokenRegistry, digest
from services.runtime.pseudonym import Pseudonymizer
from tests.unit.fakes_consent import FakeAccessLog

ALINGSAS, REGION = "kommun-1489", "region-14"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
TOKENS = {  # bearer token -> caller, for a gateway of ALINGSAS
    "system-token": Caller(ALINGSAS, Role.SYSTEM),
    "coordinator-token": Caller(ALINGSAS, Role.COORDINATOR),
    "staff-jwt": Caller(ALINGSAS, Role.COORDINATOR, user="SE2120001181-E00000000042"),  # a member of staff's own
    "region-token": Caller(REGION, Role.SYSTEM),
    "region-coordinator-token": Caller(REGION, Role.COORDINATOR, user="SE2321000014-E00000000001"),
}

PSEUDONYMS = Pseudonymizer(b"unit-test-key")


def clock() -> datetime:
    return NOW


@dataclass
class FakeOutbox:
    accepted: dict[str, tuple[str, Accepted, CloudEvent]] = field(default_factory=dict)
    notified: int = 0

    async def accept(self, event: CloudEvent) -> Accepted:
        body = hashlib.sha256(event.to_json()).hexdigest()
        if event.id in self.accepted:
            earlier, accepted, _ = self.accepted[event.id]
            if earlier != body:
                raise EventIdConflict(event.id)
            return accepted
        accepted = Accepted(event.id, clock())
        self.accepted[event.id] = (body, accepted, event)
        self.notified += 1
        return accepted

    async def accept_many(self, events: list[CloudEvent]) -> list[Accepted | EventIdConflict]:
        answers = []
        for event in events:
            try:
                answers.append(await self.accept(event))
            except EventIdConflict as conflict:
                answers.append(conflict)
        return answers


@dataclass
class FakeInbox:
    items: list[InboxItem] = field(default_factory=list)

    async def read(self, after: int, limit: int) -> list[InboxItem]:
        return [item for item in self.items if item.seq > after][:limit]

    async def latest(self, limit: int) -> list[InboxItem]:
        now = clock()

        def overdue(i: InboxItem) -> bool:
            return i.receipt_due_at is not None and i.receipt_due_at <= now and i.acknowledged_at is None

        items = [i for i in self.items if '"se.samordna.receipt.' not in i.event]
        late = sorted((i for i in items if overdue(i)), key=lambda i: i.receipt_due_at)
        return (late + sorted((i for i in items if not overdue(i)), key=lambda i: -i.seq))[:limit]


@dataclass
class FakeReceipts:
    principal: str = ALINGSAS
    deliveries: list[Delivery] = field(default_factory=list)
    sent: list[CloudEvent] = field(default_factory=list)

    async def acknowledge(self, event_id: str, sender: str | None = None, unit: str | None = None) -> Receipt:
        found = [d for d in self.deliveries if d.event_id == event_id and sender in (None, d.sender)]
        if not found:
            raise NotInInbox(event_id)
        if len(found) > 1:
            raise AmbiguousEventId(sorted(d.sender for d in found))
        [item] = found
        receipt = acknowledgement_event(item, self.principal, item.acknowledged_at or clock(), unit)
        if item.acknowledged_at is None:
            self.deliveries[self.deliveries.index(item)] = replace(item, acknowledged_at=clock())
            self.sent.append(receipt)
        return Receipt(event_id, item.sender, receipt.id, item.acknowledged_at or clock(), PSEUDONYMS.of(item.subject))


@dataclass
class FakeSubscriptions:
    subscriptions: dict[uuid.UUID, tuple[Subscription, str]] = field(default_factory=dict)
    deliveries: dict[uuid.UUID, list[dict]] = field(default_factory=dict)

    async def create(self, url: str, secret: str, event_types: list[str], from_seq: int | None) -> Subscription:
        sub = Subscription(uuid.uuid4(), url, event_types, clock())
        self.subscriptions[sub.id] = (sub, secret)
        self.deliveries[sub.id] = []
        return sub

    async def list(self) -> list[Subscription]:
        return [sub for sub, _ in self.subscriptions.values()]

    async def get(self, subscription_id: str) -> tuple[Subscription, dict[str, int]]:
        sub, _ = self._find(subscription_id)
        counts = {"pending": 0, "delivered": 0, "parked": 0}
        for row in self.deliveries[sub.id]:
            counts[row["status"]] += 1
        return sub, counts

    async def delete(self, subscription_id: str) -> None:
        sub, _ = self._find(subscription_id)
        del self.subscriptions[sub.id], self.deliveries[sub.id]

    def _find(self, subscription_id: str) -> tuple[Subscription, str]:
        found = self.subscriptions.get(subscription_uuid(subscription_id))
        if found is None:
            raise SubscriptionNotFound(subscription_id)
        return found


@dataclass
class FakeDeliveries:
    """The deliveries of the subscriptions in `store` (one FakeSubscriptions holds both)."""

    store: FakeSubscriptions

    async def list(self, subscription_id: str, status: str | None, after: int, limit: int) -> list[dict]:
        rows = self._rows(subscription_id)
        return [r for r in rows if r["seq"] > after and status in (None, r["status"])][:limit]

    async def resend(self, subscription_id: str, seq: int) -> dict:
        for row in self._rows(subscription_id):
            if row["seq"] == seq:
                row.update(status="pending", attempts=0, last_error=None, next_attempt_at=clock(), delivered_at=None)
                return dict(row)
        raise DeliveryNotFound(seq)

    async def resend_parked(self, subscription_id: str) -> int:
        parked = [row for row in self._rows(subscription_id) if row["status"] == "parked"]
        for row in parked:
            row.update(status="pending", attempts=0, last_error=None, next_attempt_at=clock())
        return len(parked)

    def _rows(self, subscription_id: str) -> list[dict]:
        sub, _ = self.store._find(subscription_id)
        return self.store.deliveries[sub.id]


@dataclass
class FakeFhirSubscriptions:
    """FHIR subscriptions, their numbered events (`events[sub_id]`) and the inbox rows as focus."""

    subscriptions: dict[uuid.UUID, FhirSubscription] = field(default_factory=dict)
    secrets: dict[uuid.UUID, str] = field(default_factory=dict)
    events_of: dict[uuid.UUID, list[Notified]] = field(default_factory=dict)
    inbox: dict[int, Notified] = field(default_factory=dict)

    async def create(self, new: NewFhirSubscription) -> FhirSubscription:
        sub = FhirSubscription(
            uuid.uuid4(), new.topic, new.endpoint, new.content, new.headers, new.heartbeat_seconds, "requested",
            None, new.reason, new.end, 0,
        )  # fmt: skip
        self.subscriptions[sub.id], self.secrets[sub.id], self.events_of[sub.id] = sub, new.secret, []
        return sub

    async def get(self, subscription_id: str) -> FhirSubscription:
        found = self.subscriptions.get(subscription_uuid(subscription_id))
        if found is None:
            raise SubscriptionNotFound(subscription_id)
        return replace(found, events_since_start=len(self.events_of[found.id]))

    async def list(self) -> list[FhirSubscription]:
        return [await self.get(str(sub_id)) for sub_id in self.subscriptions]

    async def delete(self, subscription_id: str) -> None:
        sub = await self.get(subscription_id)
        del self.subscriptions[sub.id]

    async def events(self, subscription_id: str, since: int, until: int | None, limit: int) -> list[Notified]:
        sub = await self.get(subscription_id)
        wanted = [
            e for e in self.events_of[sub.id] if e.event_number >= since and (until is None or e.event_number <= until)
        ]
        return wanted[:limit]

    async def communication(self, seq: int) -> Notified | None:
        return self.inbox.get(seq)


@dataclass
class FakeDeadLetters:
    letters: list[dict] = field(default_factory=list)

    async def list(self, status: str, after: int, limit: int) -> list[dict]:
        def shown(letter: dict) -> bool:
            replayed = letter["replayed_at"] is not None
            return status == "all" or (status == "replayed") == replayed

        return [letter for letter in self.letters if letter["id"] > after and shown(letter)][:limit]


@dataclass
class FakeGateway:
    """The fakes of one gateway, ready to be given to `create_app` as its bootstrap."""

    principal: str = ALINGSAS
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    inbox: FakeInbox = field(default_factory=FakeInbox)
    receipts: FakeReceipts = field(default_factory=FakeReceipts)
    subscriptions: FakeSubscriptions = field(default_factory=FakeSubscriptions)
    dead_letters: FakeDeadLetters = field(default_factory=FakeDeadLetters)
    fhir: FakeFhirSubscriptions = field(default_factory=FakeFhirSubscriptions)
    access_log: FakeAccessLog = field(default_factory=FakeAccessLog)

    @asynccontextmanager
    async def bootstrap(self, settings: GatewaySettings, principal: str):
        yield Deps(
            settings=settings,
            principal=principal,
            clock=clock,
            pseudonyms=PSEUDONYMS,
            outbox=self.outbox,
            inbox=self.inbox,
            receipts=self.receipts,
            subscriptions=self.subscriptions,
            deliveries=FakeDeliveries(self.subscriptions),
            fhir_subscriptions=self.fhir,
            dead_letters=self.dead_letters,
            access_log=self.access_log,
            checks={},
        )

    @asynccontextmanager
    async def api(
        self,
        environment: str = "development",
        token: str | None = "system-token",  # noqa: S107 (a test token)
        resolver: Resolver = resolve,
        **changes,
    ):
        """An HTTP client of the gateway app over ASGI, authenticated with `token` (see TOKENS).
        Webhooks may go to loopback (the tests' receivers) unless `changes` say otherwise."""
        changes = {"webhook_allow_loopback": environment != "production"} | changes
        if environment == "production":  # production's secrets are not what these tests are about
            settings = GatewaySettings.model_construct(environment="production", **changes)
        else:
            settings = GatewaySettings(**changes)
        app = create_app(settings, self.principal, bootstrap=self.bootstrap, resolver=resolver)
        app.state.tokens = TokenRegistry({digest(t): caller for t, caller in TOKENS.items()})
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers) as client:
                yield client


def delivery(seq: int, event_id: str, sender: str = REGION, **changes) -> Delivery:
    """An inbox item as the receipts see it."""
    fields = dict(
        seq=seq,
        sender=sender,
        event_id=event_id,
        event_type="se.samordna.region.discharge.planned.v1",
        subject="191212121212",
        received_at=NOW - timedelta(hours=1),
        receipt_due_at=NOW + timedelta(days=1),
    )
    return Delivery(**(fields | changes))
