"""The inbox: what the gate delivered to this principal, once each, in a gapless sequence.

Each item keeps the gate's delivery number (`delivery_seq`), and, for an event that needs
action, the deadline of the receipt (kvittens) the principal owes its sender.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from contracts import CloudEvent, parse_event
from contracts.text import MAX_INT64
from contracts.topics import DELIVERY_SEQ_HEADER, deliveries_topic, inbox_group
from services.gateway.receipts.decisions import receipt_due_at
from services.runtime.consuming import batch_consumer
from services.runtime.metrics import DELIVERED

_INBOX_LOCK = 0x1B0C5
# Told at every commit that stored rows, with the schema (so the gateway) as payload: the webhook
# dispatcher listens and queues them at once instead of at its next poll (webhooks/wakeup.py).
INBOX_CHANNEL = "samordna_inbox"


@dataclass(frozen=True)
class Delivered:
    event: CloudEvent
    delivery_seq: int | None  # None only for records written before delivery numbers existed


@dataclass(frozen=True)
class InboxItem:
    seq: int
    delivery_seq: int | None
    event: str
    received_at: datetime
    receipt_due_at: datetime | None
    acknowledged_at: datetime | None


def parse_delivery(record: ConsumerRecord) -> Delivered:
    event = parse_event(record.value or b"")
    headers = dict(record.headers or ())
    seq = headers.get(DELIVERY_SEQ_HEADER)
    return Delivered(event, _delivery_seq(seq) if seq else None)


def _delivery_seq(header: bytes) -> int:
    """The gate's number, or ValueError (the record is dead-lettered) if it is none a bigint holds."""
    seq = int(header.decode("ascii"))
    if not 1 <= seq <= MAX_INT64:
        raise ValueError(f"{DELIVERY_SEQ_HEADER} is outside 1..{MAX_INT64}")
    return seq


def subscribe_inbox_writer(
    broker: KafkaBroker, pool: asyncpg.Pool, principal: str, deadlines: dict[str, timedelta]
) -> None:
    async def store(items: list[Delivered]) -> None:
        async with pool.acquire() as conn:
            stored = await store_delivered(conn, items, deadlines)
        DELIVERED.labels(principal).inc(stored)

    batch_consumer(broker, deliveries_topic(principal), inbox_group(principal), parse_delivery, store)


async def store_delivered(conn: asyncpg.Connection, items: list[Delivered], deadlines: dict[str, timedelta]) -> int:
    """Append events not seen before, in the order given; returns how many. Redeliveries (of an
    event stored before, or twice in `items`) are dropped, so each shows once, numbered on from
    the inbox's last `seq` without a gap. One statement for the whole batch."""
    if not items:
        return 0
    async with conn.transaction():
        # Serialises the writers of this inbox so that seq stays gapless even if two consumers
        # overlap in a rebalance (and so that no row can appear between the statement's check and
        # its insert). Keyed by the gateway's schema: the gateways of a county share one database,
        # and a lock of the whole database made every inbox wait for every other.
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", _INBOX_LOCK)
        now = await conn.fetchval("SELECT now()")
        events = [item.event for item in items]
        status = await conn.execute(
            """WITH batch AS (
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                        $6::timestamptz[]) WITH ORDINALITY
                          AS b(event_id, sender, event_type, event, delivery_seq, receipt_due_at, n)),
               fresh AS (
                   SELECT DISTINCT ON (sender, event_id) * FROM batch
                   WHERE NOT EXISTS (SELECT FROM inbox WHERE inbox.sender = batch.sender
                                                        AND inbox.event_id = batch.event_id)
                   ORDER BY sender, event_id, n)
               INSERT INTO inbox (seq, event_id, sender, event_type, event, delivery_seq, received_at, receipt_due_at)
               SELECT (SELECT coalesce(max(seq), 0) FROM inbox) + row_number() OVER (ORDER BY n),
                      event_id, sender, event_type, event, delivery_seq, $7, receipt_due_at
               FROM fresh ORDER BY n""",
            [e.id for e in events],
            [e.principal for e in events],
            [e.type for e in events],
            [e.to_json().decode() for e in events],
            [item.delivery_seq for item in items],
            [receipt_due_at(e.type, now, deadlines) for e in events],
            now,
        )
        stored = int(status.split()[-1])
        if stored:  # delivered when the transaction commits, and only then
            await conn.execute("SELECT pg_notify($1, current_schema())", INBOX_CHANNEL)
    return stored


class PgInbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def read(self, after: int, limit: int) -> list[InboxItem]:
        """Up to `limit` items after the cursor `after` (an inbox seq), in seq order."""
        rows = await self._pool.fetch(
            """SELECT seq, delivery_seq, event, received_at, receipt_due_at, acknowledged_at
               FROM inbox WHERE seq > $1 ORDER BY seq LIMIT $2""",
            after,
            limit,
        )
        return [InboxItem(**dict(row)) for row in rows]

    async def latest(self, limit: int) -> list[InboxItem]:
        """Overdue receipts first (earliest deadline first), then the rest newest first; no receipts."""
        # Each part reads from an index only what it can show (the overdue by their deadline, the
        # rest newest first from the end of the inbox); one query over the whole inbox sorted all
        # of it, a month of rows, on every page a coordinator opened.
        rows = await self._pool.fetch(
            """SELECT seq, delivery_seq, event, received_at, receipt_due_at, acknowledged_at, overdue FROM (
                   (SELECT *, true AS overdue FROM inbox
                    WHERE receipt_due_at <= now() AND acknowledged_at IS NULL
                      AND event_type NOT LIKE 'se.samordna.receipt.%'
                    ORDER BY receipt_due_at, seq DESC LIMIT $1)
                   UNION ALL
                   (SELECT *, false AS overdue FROM inbox
                    WHERE NOT coalesce(receipt_due_at <= now() AND acknowledged_at IS NULL, false)
                      AND event_type NOT LIKE 'se.samordna.receipt.%'
                    ORDER BY seq DESC LIMIT $1)) AS items
               ORDER BY overdue DESC, CASE WHEN overdue THEN receipt_due_at END, seq DESC LIMIT $1""",
            limit,
        )
        return [InboxItem(**{k: v for k, v in dict(row).items() if k != "overdue"}) for row in rows]
