"""The gateway's FHIR subscriptions and what their notifications carry, on PostgreSQL.

A FHIR subscription is a row in webhook_subscriptions (format 'fhir': endpoint, secret, the
topic's event types, the cursor) and one in fhir_subscriptions (topic, content, headers,
heartbeat, status). Its events are its webhook deliveries, numbered as they are queued, and the
inbox rows they point to.
"""

from __future__ import annotations  # `list` is also a method name here

import uuid
from datetime import datetime

import asyncpg

from services.gateway.errors import SubscriptionNotFound
from services.gateway.fhir.requests import NewFhirSubscription
from services.gateway.fhir.resources import FhirSubscription, Notified
from services.gateway.webhooks.subscriptions import subscription_uuid

_COLUMNS = """s.id, f.topic, s.url AS endpoint, f.content, f.headers, f.heartbeat_seconds, f.status, f.error,
              f.reason, f.end_at AS "end", s.events_queued AS events_since_start"""
_FROM = "webhook_subscriptions AS s JOIN fhir_subscriptions AS f ON f.id = s.id"
_NOTIFIED = "d.event_number, d.seq, i.delivery_seq, i.received_at, i.event"


def _subscription(row: asyncpg.Record) -> FhirSubscription:
    return FhirSubscription(**(dict(row) | {"headers": tuple(row["headers"])}))


class PgFhirSubscriptions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, new: NewFhirSubscription) -> FhirSubscription:
        """A new subscription, requested: it starts at the inbox's end, and its worker sends the
        handshake before any event."""
        sub_id = uuid.uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO webhook_subscriptions (id, url, secret, event_types, last_seq, format)
                   VALUES ($1, $2, $3, $4, (SELECT coalesce(max(seq), 0) FROM inbox), 'fhir')""",
                sub_id,
                new.endpoint,
                new.secret,
                new.event_types,
            )
            await conn.execute(
                """INSERT INTO fhir_subscriptions (id, topic, content, headers, heartbeat_seconds, reason, end_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                sub_id,
                new.topic,
                new.content,
                list(new.headers),
                new.heartbeat_seconds,
                new.reason,
                new.end,
            )
        return await self.get(str(sub_id))

    async def get(self, subscription_id: str) -> FhirSubscription:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.id = $1", subscription_uuid(subscription_id)
        )
        if row is None:
            raise SubscriptionNotFound(subscription_id)
        return _subscription(row)

    async def list(self) -> list[FhirSubscription]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM {_FROM} ORDER BY s.created_at")
        return [_subscription(row) for row in rows]

    async def delete(self, subscription_id: str) -> None:
        """Deletes the subscription, its FHIR row and its deliveries; its worker stops within a poll."""
        deleted = await self._pool.execute(
            "DELETE FROM webhook_subscriptions WHERE id = $1 AND format = 'fhir'", subscription_uuid(subscription_id)
        )
        if deleted == "DELETE 0":
            raise SubscriptionNotFound(subscription_id)

    async def set_status(self, subscription_id: uuid.UUID, status: str, error: str | None) -> None:
        await self._pool.execute(
            "UPDATE fhir_subscriptions SET status = $2, error = $3 WHERE id = $1", subscription_id, status, error
        )

    async def events(self, subscription_id: str, since: int, until: int | None, limit: int) -> list[Notified]:
        """The subscription's events numbered `since`..`until` (inclusive), at most `limit`, in order:
        what $events answers to a client that noticed a gap."""
        sub = await self.get(subscription_id)
        rows = await self._pool.fetch(
            f"""SELECT {_NOTIFIED} FROM webhook_deliveries AS d JOIN inbox AS i ON i.seq = d.seq
                WHERE d.subscription_id = $1 AND d.event_number >= $2 AND ($3::bigint IS NULL OR d.event_number <= $3)
                ORDER BY d.event_number LIMIT $4""",
            sub.id,
            since,
            until,
            limit,
        )
        return [Notified(**dict(row)) for row in rows]

    async def communication(self, seq: int) -> Notified | None:
        """An inbox row as a notification's focus (its event number is not the point here: 0)."""
        row = await self._pool.fetchrow(
            "SELECT 0 AS event_number, seq, delivery_seq, received_at, event FROM inbox WHERE seq = $1", seq
        )
        return Notified(**dict(row)) if row else None


def is_over(sub: FhirSubscription, now: datetime) -> bool:
    return sub.end is not None and now >= sub.end
