"""The gateway's tables keep personal data only as long as their purpose (docs/privacy.md).

- `outbox`: a row published to Kafka is kept `outbox_retention_hours`, the window in which a
  partner's retry of the same event id gets the same answer; unpublished rows are never pruned
  (nothing accepted is lost).
- `inbox`: a delivered event is kept `inbox_retention_hours` (the recipient's agreement; at least
  the deliveries topic's retention, so that a redelivery is still recognised), and longer while
  its receipt is due or a webhook has yet to deliver it (a parked delivery keeps it too).
- `dead_letters`: kept `dead_letters_retention_hours`, the ceiling of the dead-letter topics.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 600.0


@dataclass(frozen=True)
class Retention:
    outbox: timedelta
    inbox: timedelta
    dead_letters: timedelta


async def prune(pool: asyncpg.Pool, keep: Retention) -> dict[str, int]:
    """Delete what is past its retention; answers how many rows of each table."""
    async with pool.acquire() as conn, conn.transaction():
        outbox = await _count(
            conn,
            "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - $1::interval",
            keep.outbox,
        )
        inbox = await _count(
            conn,
            """DELETE FROM inbox i WHERE received_at < now() - $1::interval
                 AND NOT (receipt_due_at IS NOT NULL AND acknowledged_at IS NULL AND overdue_reported_at IS NULL)
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.seq = i.seq AND d.status <> 'delivered')""",
            keep.inbox,
        )
        # what a webhook delivered of a pruned event: its id and type only, nothing to keep
        await conn.execute(
            "DELETE FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM inbox i WHERE i.seq = d.seq)"
        )
        letters = await _count(
            conn, "DELETE FROM dead_letters WHERE failed_at < now() - $1::interval", keep.dead_letters
        )
    return {"outbox": outbox, "inbox": inbox, "dead_letters": letters}


async def _count(conn: asyncpg.Connection, sql: str, age: timedelta) -> int:
    return await conn.fetchval(f"WITH gone AS ({sql} RETURNING 1) SELECT count(*) FROM gone", age)


async def watch(pool: asyncpg.Pool, keep: Retention, interval: float = PRUNE_INTERVAL_SECONDS) -> None:
    while True:
        try:
            pruned = await prune(pool, keep)
            if any(pruned.values()):
                log.info("pruned past retention", extra=pruned)
        except Exception as exc:  # the database away, or a pool connection broken by its restart
            log.warning("pruning failed; will retry", extra={"error": repr(exc)})
        await asyncio.sleep(interval)
