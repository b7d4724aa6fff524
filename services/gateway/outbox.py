"""The gateway's outbox: an event answered with 202 is a committed row; the relay publishes it."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import CloudEvent
from services.gateway.errors import EventIdConflict

TABLE = "outbox"


@dataclass(frozen=True)
class Accepted:
    id: str
    accepted_at: datetime


async def accept(db: asyncpg.Pool | asyncpg.Connection, event: CloudEvent, kafka_key: str) -> Accepted:
    """Store the event once. The same id with the same body answers the same; another body is a conflict.

    `db` is the pool, or a connection whose transaction the event should be part of."""
    body = event.to_json().decode()
    body_sha256 = hashlib.sha256(body.encode()).hexdigest()
    row = await db.fetchrow(
        """INSERT INTO outbox (event_id, body_sha256, event, kafka_key) VALUES ($1, $2, $3, $4)
           ON CONFLICT (event_id) DO NOTHING RETURNING accepted_at""",
        event.id,
        body_sha256,
        body,
        kafka_key,
    )
    if row is None:
        row = await db.fetchrow("SELECT body_sha256, accepted_at FROM outbox WHERE event_id = $1", event.id)
        if row["body_sha256"] != body_sha256:
            raise EventIdConflict(event.id)
    return Accepted(event.id, row["accepted_at"])
