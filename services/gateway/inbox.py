"""The inbox: what the gate delivered to this principal, once each, in a gapless sequence."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg
from faststream.kafka import KafkaBroker

from contracts import CloudEvent, parse_event
from contracts.topics import deliveries_topic
from services.runtime.consuming import batch_consumer

_INBOX_LOCK = 0x1B0C5


@dataclass(frozen=True)
class InboxItem:
    seq: int
    event: str
    received_at: datetime


def subscribe_inbox_writer(broker: KafkaBroker, pool: asyncpg.Pool, principal: str) -> None:
    async def store(events: list[CloudEvent]) -> None:
        async with pool.acquire() as conn:
            await store_delivered(conn, events)

    batch_consumer(broker, deliveries_topic(principal), f"samordna-inbox-{principal}", parse_event, store)


async def store_delivered(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
    """Append events not seen before. Redeliveries are dropped, so each shows once."""
    async with conn.transaction():
        # Serialises writers so that seq stays gapless even if two consumers overlap in a rebalance.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _INBOX_LOCK)
        for event in events:
            await conn.execute(
                """INSERT INTO inbox (seq, event_id, sender, event_type, event)
                   SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4 FROM inbox
                   ON CONFLICT (sender, event_id) DO NOTHING""",
                event.id,
                event.principal,
                event.type,
                event.to_json().decode(),
            )


async def read(pool: asyncpg.Pool, after: int, limit: int) -> list[InboxItem]:
    rows = await pool.fetch(
        "SELECT seq, event, received_at FROM inbox WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit
    )
    return [InboxItem(row["seq"], row["event"], row["received_at"]) for row in rows]
