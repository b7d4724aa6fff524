"""The webhook deliveries: one row per (subscription, inbox row) to send, in webhook_deliveries.

The dispatcher queues new inbox rows (`enqueue_new`), claims what is due under a lease
(`claim_due`) and records each outcome (`record_delivered`, `record_failed`); the API lists
and resends them (`PgDeliveries`).
"""

from __future__ import annotations  # `list` is also a method name here

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from services.gateway.errors import DeliveryNotFound, SubscriptionNotFound
from services.gateway.webhooks.subscriptions import subscription_uuid

log = logging.getLogger(__name__)

Status = Literal["pending", "delivered", "parked"]
Db = asyncpg.Pool | asyncpg.Connection  # the dispatcher's statements run on either
_ENQUEUE_BATCH = 1000
_DELIVERY_COLUMNS = "seq, event_id, event_type, status, attempts, last_error, next_attempt_at, delivered_at"
_RESET = """status = 'pending', attempts = 0, first_attempt_at = NULL, next_attempt_at = now(),
            last_error = NULL, delivered_at = NULL"""


@dataclass(frozen=True)
class Claimed:
    """A delivery taken to be sent now: its attempt is counted and it is leased."""

    seq: int
    event_id: str
    attempts: int
    first_attempt_at: datetime
    body: bytes  # what a Samordna webhook receives: {"seq", "received_at", "event"}
    event_number: int | None = None  # the subscription's own number (FHIR's event-number)
    delivery_seq: int | None = None  # the gate's number for this principal
    received_at: datetime | None = None
    event: str = ""  # the CloudEvent as delivered


class PgDeliveries:
    """A subscription's deliveries as the API shows and resends them."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list(self, subscription_id: str, status: Status | None, after: int, limit: int) -> list[dict]:
        sub_id = await self._existing(subscription_id)
        rows = await self._pool.fetch(
            f"""SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries
                WHERE subscription_id = $1 AND seq > $2 AND ($3::text IS NULL OR status = $3)
                ORDER BY seq LIMIT $4""",
            sub_id,
            after,
            status,
            limit,
        )
        return [dict(row) for row in rows]

    async def resend(self, subscription_id: str, seq: int) -> dict:
        """Puts one delivery, in whatever state, back to pending with its attempts reset."""
        sub_id = await self._existing(subscription_id)
        row = await self._pool.fetchrow(
            f"""UPDATE webhook_deliveries SET {_RESET} WHERE subscription_id = $1 AND seq = $2
                RETURNING {_DELIVERY_COLUMNS}""",
            sub_id,
            seq,
        )
        if row is None:
            raise DeliveryNotFound(seq)
        return dict(row)

    async def resend_parked(self, subscription_id: str) -> int:
        """Puts every parked delivery of the subscription back to pending; returns how many."""
        sub_id = await self._existing(subscription_id)
        status = await self._pool.execute(
            f"UPDATE webhook_deliveries SET {_RESET} WHERE subscription_id = $1 AND status = 'parked'", sub_id
        )
        return int(status.split()[-1])

    async def _existing(self, subscription_id: str) -> uuid.UUID:
        sub_id = subscription_uuid(subscription_id)
        if not await self._pool.fetchval("SELECT true FROM webhook_subscriptions WHERE id = $1", sub_id):
            raise SubscriptionNotFound(subscription_id)
        return sub_id


async def backlog(pool: asyncpg.Pool) -> dict[str, int]:
    """Deliveries waiting to be sent and deliveries parked, over every subscription."""
    rows = await pool.fetch(
        """SELECT status, count(*) AS n FROM webhook_deliveries
           WHERE status IN ('pending', 'parked') GROUP BY status"""
    )
    return {"pending": 0, "parked": 0} | {row["status"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Enqueued:
    queued: int  # deliveries made (rows of the types the subscription asked for)
    more: bool  # the batch was full: more inbox rows may be waiting behind the cursor


async def enqueue_new(pool: Db, subscription_id: uuid.UUID) -> Enqueued:
    """Queues the next inbox rows (up to a batch) after the subscription's cursor that it asked
    for, and moves the cursor; one statement, so one round trip, and no lock taken when the
    cursor is at the inbox's end.

    The inbox writer numbers rows under a lock, so no row can commit behind one already seen:
    a cursor never skips a row. The subscription row is locked while its cursor moves, so two
    replicas do not queue the same range (a duplicate would fail the statement, never take a
    second number), and each delivery takes the next of the subscription's gapless event numbers.
    """
    row = await pool.fetchrow(
        """WITH sub AS (
               SELECT id, last_seq, event_types, events_queued FROM webhook_subscriptions
               WHERE id = $1 AND last_seq < (SELECT coalesce(max(seq), 0) FROM inbox)
               FOR UPDATE SKIP LOCKED),
           batch AS (  -- the cursor as a value, so the scan starts at it (joined, it read the whole inbox)
               SELECT i.seq, i.event_id, i.event_type FROM inbox AS i
               WHERE i.seq > (SELECT last_seq FROM sub) ORDER BY i.seq LIMIT $2),
           queued AS (  -- each delivery takes the subscription's next event number (FHIR's event-number)
               INSERT INTO webhook_deliveries (subscription_id, seq, event_id, event_type, event_number)
               SELECT sub.id, b.seq, b.event_id, b.event_type, sub.events_queued + row_number() OVER (ORDER BY b.seq)
               FROM batch AS b, sub
               WHERE cardinality(sub.event_types) = 0 OR b.event_type = ANY(sub.event_types)
               RETURNING 1)
           UPDATE webhook_subscriptions AS s
           SET last_seq = (SELECT max(seq) FROM batch),
               events_queued = s.events_queued + (SELECT count(*) FROM queued)
           FROM sub WHERE s.id = sub.id AND EXISTS (SELECT FROM batch)
           RETURNING (SELECT count(*) FROM queued) AS queued, (SELECT count(*) FROM batch) AS looked""",
        subscription_id,
        _ENQUEUE_BATCH,
    )
    if row is None:  # nothing new, or another replica is moving the cursor
        return Enqueued(0, False)
    return Enqueued(row["queued"], row["looked"] == _ENQUEUE_BATCH)


class Statistics:
    """Keeps PostgreSQL's statistics of webhook_deliveries up with a burst of queued rows.

    Between two analyses by autovacuum (a minute apart at best, and only once a tenth of the
    table changed) the planner knows neither a new subscription nor that its pending rows became
    many: it estimates one pending row, and reaches the few rows of a claim's marks or of a failure
    by the subscription's index of due rows instead of the primary key, reading every pending
    delivery of the subscription each time (bench.e2e: a backlog of 2 000 made a claim take 20 to
    60 ms, and the webhook leg fell behind). So a worker that has queued `rows` rows since its last
    analysis runs one, at most every `seconds`: ANALYZE samples at most 30 000 rows, a few tens of
    milliseconds, once per thousand deliveries of a burst. (A role that does not own the table gets
    a warning from PostgreSQL, not an error, and autovacuum's analyses only.)"""

    def __init__(self, rows: int = 1000, seconds: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._rows = rows
        self._seconds = seconds
        self._clock = clock
        self._queued = 0
        self._analyzed_at = float("-inf")

    async def queued(self, conn: asyncpg.Connection, count: int) -> bool:
        """`count` rows were queued; analyzes the table if it is time. True if it did."""
        self._queued += count
        if self._queued < self._rows or self._clock() - self._analyzed_at < self._seconds:
            return False
        self._queued, self._analyzed_at = 0, self._clock()  # a failed analysis is not retried at once
        try:
            async with conn.transaction():
                # not behind another replica's analysis or autovacuum: the claims wait meanwhile
                await conn.execute("SET LOCAL lock_timeout = '100ms'")
                await conn.execute("ANALYZE webhook_deliveries")
        except asyncpg.PostgresError as exc:
            log.info("webhook deliveries not analyzed", extra={"error": type(exc).__name__})
            return False
        return True


def _mark_delivered(seqs: str, attempts: str) -> str:
    """The UPDATE that marks claims delivered ($1 the subscription; the claims' seqs and attempts
    as the parameters named). The `attempts` guard ignores an outcome that arrives after the
    delivery was resent or claimed again."""
    return f"""UPDATE webhook_deliveries AS d SET status = 'delivered', delivered_at = now(), last_error = NULL
        FROM unnest({seqs}::bigint[], {attempts}::integer[]) AS done (seq, attempts)
        WHERE d.subscription_id = $1 AND d.seq = done.seq AND d.attempts = done.attempts
          AND d.status = 'pending'"""


def _claim(due: str) -> str:
    """The claim statement around `due` (the seqs to take): marks `done` first ($2, $5), then counts
    the attempt of each and leases it for $3 seconds."""
    return f"""WITH done AS ({_mark_delivered("$2", "$5")} RETURNING d.seq),
           due AS ({due})
           UPDATE webhook_deliveries AS d
           SET attempts = d.attempts + 1, first_attempt_at = coalesce(d.first_attempt_at, now()),
               next_attempt_at = now() + make_interval(secs => $3)
           FROM due, inbox AS i
           WHERE d.subscription_id = $1 AND d.seq = due.seq AND i.seq = due.seq
           RETURNING d.seq, d.event_id, d.attempts, d.first_attempt_at, d.event_number, i.delivery_seq,
                     i.received_at, i.event"""


# Any order: what is due, earliest due first, read from the due index — only the rows it takes,
# not every pending one (by seq it walked every delivery waiting for a retry, on each claim: a
# partner's endpoint down for a day made every claim read the day's backlog).
_CLAIM = _claim(
    """SELECT seq FROM webhook_deliveries
       WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at <= now()
         AND seq NOT IN (SELECT seq FROM done)
       ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED"""
)
# In order: the first pending delivery only, and only once it is due.
_CLAIM_IN_ORDER = _claim(
    """SELECT seq FROM webhook_deliveries
       WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at <= now()
         AND seq NOT IN (SELECT seq FROM done)
         AND seq = (SELECT min(seq) FROM webhook_deliveries
                    WHERE subscription_id = $1 AND status = 'pending' AND seq NOT IN (SELECT seq FROM done))
       LIMIT $4 FOR UPDATE SKIP LOCKED"""
)


async def claim_due(
    pool: Db,
    subscription_id: uuid.UUID,
    limit: int,
    lease: float,
    in_order: bool = False,
    delivered: Sequence[Claimed] = (),
) -> list[Claimed]:
    """Takes up to `limit` due deliveries, counting the attempt and leasing them for `lease` seconds;
    marks `delivered` first, in the same statement (as `record_delivered` does).

    `in_order` takes only the subscription's first pending delivery, and only once it is due (a
    leased or retrying one holds back those after it until it is delivered or parked). The
    statement sees the table as it was before it began, so the rows it marks delivered are left
    out by name: a claim whose mark the `attempts` guard refused stays pending and first."""
    rows = await pool.fetch(
        _CLAIM_IN_ORDER if in_order else _CLAIM,
        subscription_id,
        [claimed.seq for claimed in delivered],
        lease,
        limit,
        [claimed.attempts for claimed in delivered],
    )
    return [
        Claimed(
            row["seq"],
            row["event_id"],
            row["attempts"],
            row["first_attempt_at"],
            _body(row),
            row["event_number"],
            row["delivery_seq"],
            row["received_at"],
            row["event"],
        )  # fmt: skip
        for row in sorted(rows, key=lambda row: row["seq"])
    ]


def _body(row) -> bytes:
    record = {"seq": row["seq"], "received_at": row["received_at"].isoformat(), "event": json.loads(row["event"])}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


async def record_delivered(pool: Db, subscription_id: uuid.UUID, delivered: Sequence[Claimed]) -> None:
    """Marks these claims delivered, in one statement."""
    await pool.execute(
        _mark_delivered("$2", "$3"),
        subscription_id,
        [claimed.seq for claimed in delivered],
        [claimed.attempts for claimed in delivered],
    )


async def record_failed(
    pool: asyncpg.Pool, subscription_id: uuid.UUID, claimed: Claimed, error: str, retry_at: datetime | None
) -> None:
    """Schedules the retry, or parks the delivery when `retry_at` is None. The `attempts` guard
    ignores an outcome that arrives after the delivery was resent."""
    await pool.execute(
        """UPDATE webhook_deliveries
           SET last_error = $4, status = CASE WHEN $5::timestamptz IS NULL THEN 'parked' ELSE 'pending' END,
               next_attempt_at = coalesce($5, next_attempt_at)
           WHERE subscription_id = $1 AND seq = $2 AND attempts = $3 AND status = 'pending'""",
        subscription_id,
        claimed.seq,
        claimed.attempts,
        error,
        retry_at,
    )
