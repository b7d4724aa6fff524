"""The webhook subscriptions of this principal's own systems, in the gateway's own schema.

The secret is stored because every delivery is signed with it, and is never read back but by
the dispatcher (`endpoints`).
"""

from __future__ import annotations  # `list` is also a method name here

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.gateway.errors import SubscriptionNotFound

DeliveryCounts = dict[str, int]  # pending, delivered, parked


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    url: str
    event_types: list[str]
    created_at: datetime


@dataclass(frozen=True)
class Endpoint:
    """What the dispatcher needs to send a subscription's deliveries."""

    subscription_id: uuid.UUID
    url: str
    secret: str
    format: str = "webhook"  # or "fhir": notification bundles (services/gateway/fhir/worker.py)


def subscription_uuid(subscription_id: str) -> uuid.UUID:
    """The id as a UUID; anything else names no subscription."""
    try:
        return uuid.UUID(subscription_id)
    except ValueError:
        raise SubscriptionNotFound(subscription_id) from None


_COLUMNS = "id, url, event_types, created_at"


class PgSubscriptions:
    """The subscriptions store on PostgreSQL (table webhook_subscriptions)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, url: str, secret: str, event_types: list[str], from_seq: int | None) -> Subscription:
        """A new subscription, starting at the inbox's current end unless `from_seq` names an earlier row."""
        row = await self._pool.fetchrow(
            f"""INSERT INTO webhook_subscriptions (id, url, secret, event_types, last_seq)
                VALUES ($1, $2, $3, $4,
                        CASE WHEN $5::bigint IS NULL THEN (SELECT coalesce(max(seq), 0) FROM inbox)
                             ELSE greatest($5::bigint - 1, 0) END)
                RETURNING {_COLUMNS}""",
            uuid.uuid4(),
            url,
            secret,
            event_types,
            from_seq,
        )
        return Subscription(**dict(row))

    async def list(self) -> list[Subscription]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM webhook_subscriptions ORDER BY created_at")
        return [Subscription(**dict(row)) for row in rows]

    async def get(self, subscription_id: str) -> tuple[Subscription, DeliveryCounts]:
        """The subscription and how many of its deliveries are pending, delivered and parked."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE id = $1", subscription_uuid(subscription_id)
        )
        if row is None:
            raise SubscriptionNotFound(subscription_id)
        counts = await self._pool.fetch(
            "SELECT status, count(*) AS n FROM webhook_deliveries WHERE subscription_id = $1 GROUP BY status",
            row["id"],
        )
        by_status = {"pending": 0, "delivered": 0, "parked": 0} | {r["status"]: r["n"] for r in counts}
        return Subscription(**dict(row)), by_status

    async def delete(self, subscription_id: str) -> None:
        """Deletes the subscription with its deliveries; its task stops within a poll interval."""
        deleted = await self._pool.execute(
            "DELETE FROM webhook_subscriptions WHERE id = $1", subscription_uuid(subscription_id)
        )
        if deleted == "DELETE 0":
            raise SubscriptionNotFound(subscription_id)


async def endpoints(pool: asyncpg.Pool) -> dict[uuid.UUID, Endpoint]:
    """Every subscription with its secret, for the dispatcher."""
    rows = await pool.fetch("SELECT id, url, secret, format FROM webhook_subscriptions")
    return {row["id"]: Endpoint(row["id"], row["url"], row["secret"], row["format"]) for row in rows}
