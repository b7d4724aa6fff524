"""The SQL around the receipts' decisions (decisions.py): the inbox rows read and marked, and
the receipt events stored in the outbox in the same transaction."""

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.gateway import outbox
from services.gateway.errors import AmbiguousEventId, NotInInbox
from services.gateway.receipts.decisions import (
    Delivery,
    acknowledgement_event,
    overdue_reports,
    receipt_id,
)
from services.runtime.metrics import RECEIPTS_OVERDUE
from services.runtime.pseudonym import Pseudonymizer

log = logging.getLogger(__name__)

_DELIVERY_COLUMNS = (
    "seq, sender, event_id, event_type, event, received_at, receipt_due_at, acknowledged_at, overdue_reported_at"
)


@dataclass(frozen=True)
class Receipt:
    event_id: str
    sender: str
    receipt_id: str
    acknowledged_at: datetime
    person: str  # the pseudonym of the event's subject (for the access log)


class PgReceipts:
    """Receipts of `principal`'s inbox; `notify` wakes the outbox relay once a receipt is stored."""

    def __init__(
        self, pool: asyncpg.Pool, pseudonyms: Pseudonymizer, principal: str, notify: Callable[[], None]
    ) -> None:
        self._pool = pool
        self._pseudonyms = pseudonyms
        self._principal = principal
        self._notify = notify

    async def acknowledge(self, event_id: str, sender: str | None = None, unit: str | None = None) -> Receipt:
        """Acknowledge a delivered event once; acknowledging it again answers the same."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"""SELECT {_DELIVERY_COLUMNS} FROM inbox
                    WHERE event_id = $1 AND ($2::text IS NULL OR sender = $2) FOR UPDATE""",
                event_id,
                sender,
            )
            if not rows:
                raise NotInInbox(event_id)
            if len(rows) > 1:
                raise AmbiguousEventId(sorted(row["sender"] for row in rows))
            item = _delivery(rows[0])
            if item.acknowledged_at is not None:
                earlier = receipt_id("receipt", item.sender, event_id)
                return Receipt(event_id, item.sender, earlier, item.acknowledged_at, self._person(item))
            now = await conn.fetchval("SELECT now()")
            receipt = acknowledgement_event(item, self._principal, now, unit)
            await outbox.accept(conn, receipt, self._pseudonyms.of(receipt.subject))
            await conn.execute("UPDATE inbox SET acknowledged_at = $2 WHERE seq = $1", item.seq, now)
        self._notify()
        return Receipt(event_id, item.sender, receipt.id, now, self._person(item))

    def _person(self, item) -> str:
        return self._pseudonyms.of(item.subject)

    async def report_overdue(self, limit: int = 100) -> int:
        """Report every event past its receipt deadline, unacknowledged and not yet reported."""
        async with self._pool.acquire() as conn, conn.transaction():
            now = await conn.fetchval("SELECT now()")
            rows = await conn.fetch(
                f"""SELECT {_DELIVERY_COLUMNS} FROM inbox
                    WHERE receipt_due_at <= $2 AND acknowledged_at IS NULL AND overdue_reported_at IS NULL
                    ORDER BY receipt_due_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
                limit,
                now,
            )
            reports = overdue_reports([_delivery(row) for row in rows], self._principal, now)
            for report in reports:
                await outbox.accept(conn, report.event, self._pseudonyms.of(report.event.subject))
                await conn.execute("UPDATE inbox SET overdue_reported_at = $2 WHERE seq = $1", report.seq, now)
        if reports:
            RECEIPTS_OVERDUE.labels(self._principal).inc(len(reports))
            log.info("receipts overdue reported", extra={"count": len(reports)})
            self._notify()
        return len(reports)

    async def watch_overdue(self, every_seconds: float) -> None:
        while True:
            try:
                await self.report_overdue()
            except Exception as exc:  # the database is away (or a connection broken by its restart): try again later
                log.warning("overdue receipts could not be checked", extra={"error": repr(exc)})
            await asyncio.sleep(every_seconds)


def _delivery(row) -> Delivery:
    fields = dict(row)
    fields["subject"] = json.loads(fields.pop("event"))["subject"]
    return Delivery(**fields)
