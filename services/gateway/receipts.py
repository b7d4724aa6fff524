"""Receipts (kvittens): the recipient acknowledges a delivered event, and the gateway tells
the sender — as an event through the gate, like any other. An event that needs action and is
not acknowledged by its deadline makes the gateway report it overdue, the same way.

Both are stored in the outbox in the same transaction that marks the inbox item, so a
receipt is sent once the acknowledgement is committed, and is never sent twice.
"""

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import CloudEvent, parse_event
from contracts.catalogue import Category
from contracts.receipts import ACKNOWLEDGED, OVERDUE
from services.gateway import outbox
from services.gateway.errors import GatewayError
from services.runtime.metrics import RECEIPTS_OVERDUE
from services.runtime.pseudonym import Pseudonymizer

log = logging.getLogger(__name__)

SOURCE = "/samordna/gateway"
_IDS = uuid.UUID("5b0e8f3a-3c51-4f7e-9d0a-7d2b6c1f4e21")  # namespace of receipt event ids


class NotInInbox(GatewayError):
    """No event with this id was delivered to this principal."""


class AmbiguousEventId(GatewayError):
    """Two senders delivered events with this id; the caller must name the sender."""

    def __init__(self, senders: list[str]) -> None:
        self.senders = senders
        super().__init__(f"senders {', '.join(senders)} both delivered an event with this id")


@dataclass(frozen=True)
class Receipt:
    event_id: str
    sender: str
    receipt_id: str
    acknowledged_at: datetime


async def acknowledge(
    pool: asyncpg.Pool,
    pseudonyms: Pseudonymizer,
    principal: str,
    event_id: str,
    sender: str | None = None,
    unit: str | None = None,
) -> Receipt:
    """Acknowledge a delivered event once; acknowledging it again answers the same."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT seq, sender, event_type, event, acknowledged_at FROM inbox
               WHERE event_id = $1 AND ($2::text IS NULL OR sender = $2) FOR UPDATE""",
            event_id,
            sender,
        )
        if not rows:
            raise NotInInbox(event_id)
        if len(rows) > 1:
            raise AmbiguousEventId(sorted(row["sender"] for row in rows))
        [row] = rows
        receipt_id = _receipt_id("receipt", row["sender"], event_id)
        if row["acknowledged_at"] is not None:
            return Receipt(event_id, row["sender"], receipt_id, row["acknowledged_at"])
        now = await conn.fetchval("SELECT now()")
        delivered = json.loads(row["event"])
        data = {"addressee": row["sender"], "event_id": event_id, "event_type": row["event_type"]}
        data |= {"acknowledged_at": now.isoformat()} | ({"unit": unit} if unit else {})
        receipt = _event(receipt_id, ACKNOWLEDGED, principal, delivered["subject"], now, data)
        await outbox.accept(conn, receipt, pseudonyms.of(receipt.subject))
        await conn.execute("UPDATE inbox SET acknowledged_at = $2 WHERE seq = $1", row["seq"], now)
    return Receipt(event_id, row["sender"], receipt_id, now)


async def report_overdue(pool: asyncpg.Pool, pseudonyms: Pseudonymizer, principal: str, limit: int = 100) -> int:
    """Report every event past its receipt deadline, unacknowledged and not yet reported."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT seq, sender, event_id, event_type, event, received_at, receipt_due_at FROM inbox
               WHERE receipt_due_at <= now() AND acknowledged_at IS NULL AND overdue_reported_at IS NULL
               ORDER BY receipt_due_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
            limit,
        )
        now = await conn.fetchval("SELECT now()")
        for row in rows:
            data = {
                "addressee": row["sender"],
                "event_id": row["event_id"],
                "event_type": row["event_type"],
                "received_at": row["received_at"].isoformat(),
                "deadline": row["receipt_due_at"].isoformat(),
            }
            overdue_id = _receipt_id("overdue", row["sender"], row["event_id"])
            subject = json.loads(row["event"])["subject"]
            event = _event(overdue_id, OVERDUE, principal, subject, now, data)
            await outbox.accept(conn, event, pseudonyms.of(subject))
            await conn.execute("UPDATE inbox SET overdue_reported_at = $2 WHERE seq = $1", row["seq"], now)
    if rows:
        RECEIPTS_OVERDUE.labels(principal).inc(len(rows))
        log.info("receipts overdue reported", extra={"count": len(rows)})
    return len(rows)


async def watch_overdue(
    pool: asyncpg.Pool, pseudonyms: Pseudonymizer, principal: str, notify, every_seconds: float
) -> None:
    while True:
        try:
            if await report_overdue(pool, pseudonyms, principal):
                notify()
        except Exception as exc:  # the database is away (or a connection broken by its restart): try again later
            log.warning("overdue receipts could not be checked", extra={"error": repr(exc)})
        await asyncio.sleep(every_seconds)


def _receipt_id(kind: str, sender: str, event_id: str) -> str:
    """The same event always gets the same receipt id, so a receipt is one event however often it is made."""
    return f"{kind}-{uuid.uuid5(_IDS, f'{sender}/{event_id}')}"


def _event(event_id: str, event_type: str, principal: str, subject: str, now: datetime, data: dict) -> CloudEvent:
    return parse_event(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": SOURCE,
            "type": event_type,
            "subject": subject,
            "time": now.isoformat(),
            "principal": principal,
            "category": Category.COORDINATION.value,
            "data": data,
        }
    )
