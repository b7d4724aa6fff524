"""Webhooks: the principal's inbox pushed to the HTTP endpoints its systems subscribe.

Each subscription has its own cursor over the inbox's gapless `seq`: new inbox rows of the
types it asked for are queued as its deliveries, and each due delivery is POSTed, signed with
the subscription's secret (contracts/webhooks.py). Delivery is at least once — a gateway that
dies between the receiver's 2xx and recording it sends again — so receivers de-duplicate by
event id. A failed delivery is retried with exponential backoff and jitter for a window from
its first attempt, then parked until someone resends it.

Every subscription is served by its own task with its own HTTP client, a bounded number of
requests in flight and a timeout, so an endpoint that hangs or fails holds up only itself.
Rows are claimed with FOR UPDATE SKIP LOCKED and a lease, so gateway replicas share the work
instead of sending twice. Logs name the subscription, the inbox seq and the event id only:
never the subject (a personnummer), the endpoint's URL (it may hold credentials) or a response.
"""

import asyncio
import json
import logging
import random
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg
import httpx

from contracts import webhooks as signing
from services.gateway.settings import GatewaySettings
from services.runtime.metrics import WEBHOOK_BACKLOG

log = logging.getLogger(__name__)

Status = Literal["pending", "delivered", "parked"]
_ENQUEUE_BATCH = 1000
_LEASE_MARGIN_SECONDS = 30.0


class SubscriptionNotFound(LookupError):
    """No subscription of this principal has the id."""


class DeliveryNotFound(LookupError):
    """The subscription has no delivery of this inbox seq."""


# ---- the retry rule (pure) ----------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float
    max_delay: float
    retry_for: timedelta

    def delay(self, attempts: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait after the `attempts`-th failure: doubling, capped, jittered into its upper half
        so that endpoints coming back are not hit by every delivery at the same instant."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** (attempts - 1))
        return uniform(ceiling / 2, ceiling)

    def next_attempt(
        self,
        attempts: int,
        first_attempt_at: datetime,
        now: datetime,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> datetime | None:
        """When to try again after a failure, or None to park: the window since the first attempt
        has passed. The last retry falls on the window's end rather than beyond it."""
        deadline = first_attempt_at + self.retry_for
        if now >= deadline:
            return None
        return min(now + timedelta(seconds=self.delay(attempts, uniform)), deadline)


# ---- subscriptions and deliveries (what the API calls) ------------------------------


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    url: str
    event_types: list[str]
    created_at: datetime


async def subscribe(
    pool: asyncpg.Pool, url: str, secret: str, event_types: list[str], from_seq: int | None
) -> Subscription:
    """A new subscription, starting at the inbox's current end unless `from_seq` names an earlier row."""
    row = await pool.fetchrow(
        """INSERT INTO webhook_subscriptions (id, url, secret, event_types, last_seq)
           VALUES ($1, $2, $3, $4,
                   CASE WHEN $5::bigint IS NULL THEN (SELECT coalesce(max(seq), 0) FROM inbox)
                        ELSE greatest($5::bigint - 1, 0) END)
           RETURNING id, url, event_types, created_at""",
        uuid.uuid4(),
        url,
        secret,
        event_types,
        from_seq,
    )
    return Subscription(**dict(row))


async def subscriptions(pool: asyncpg.Pool) -> list[Subscription]:
    rows = await pool.fetch("SELECT id, url, event_types, created_at FROM webhook_subscriptions ORDER BY created_at")
    return [Subscription(**dict(row)) for row in rows]


async def subscription(pool: asyncpg.Pool, subscription_id: str) -> tuple[Subscription, dict[str, int]]:
    """The subscription and how many of its deliveries are pending, delivered and parked."""
    row = await pool.fetchrow(
        "SELECT id, url, event_types, created_at FROM webhook_subscriptions WHERE id = $1", _uuid(subscription_id)
    )
    if row is None:
        raise SubscriptionNotFound(subscription_id)
    counts = await pool.fetch(
        "SELECT status, count(*) AS n FROM webhook_deliveries WHERE subscription_id = $1 GROUP BY status", row["id"]
    )
    by_status = {"pending": 0, "delivered": 0, "parked": 0} | {r["status"]: r["n"] for r in counts}
    return Subscription(**dict(row)), by_status


async def unsubscribe(pool: asyncpg.Pool, subscription_id: str) -> None:
    """Deletes the subscription with its deliveries; its task stops within a poll interval."""
    if await pool.execute("DELETE FROM webhook_subscriptions WHERE id = $1", _uuid(subscription_id)) == "DELETE 0":
        raise SubscriptionNotFound(subscription_id)


_DELIVERY_COLUMNS = "seq, event_id, event_type, status, attempts, last_error, next_attempt_at, delivered_at"


async def deliveries(
    pool: asyncpg.Pool, subscription_id: str, status: Status | None, after: int, limit: int
) -> list[dict]:
    sub_id = await _existing(pool, subscription_id)
    rows = await pool.fetch(
        f"""SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries
            WHERE subscription_id = $1 AND seq > $2 AND ($3::text IS NULL OR status = $3)
            ORDER BY seq LIMIT $4""",
        sub_id,
        after,
        status,
        limit,
    )
    return [dict(row) for row in rows]


async def resend(pool: asyncpg.Pool, subscription_id: str, seq: int) -> dict:
    """Puts one delivery, in whatever state, back to pending with its attempts reset."""
    sub_id = await _existing(pool, subscription_id)
    row = await pool.fetchrow(
        f"""UPDATE webhook_deliveries SET {_RESET} WHERE subscription_id = $1 AND seq = $2
            RETURNING {_DELIVERY_COLUMNS}""",
        sub_id,
        seq,
    )
    if row is None:
        raise DeliveryNotFound(seq)
    return dict(row)


async def resend_parked(pool: asyncpg.Pool, subscription_id: str) -> int:
    """Puts every parked delivery of the subscription back to pending; returns how many."""
    sub_id = await _existing(pool, subscription_id)
    status = await pool.execute(
        f"UPDATE webhook_deliveries SET {_RESET} WHERE subscription_id = $1 AND status = 'parked'", sub_id
    )
    return int(status.split()[-1])


_RESET = """status = 'pending', attempts = 0, first_attempt_at = NULL, next_attempt_at = now(),
            last_error = NULL, delivered_at = NULL"""


async def backlog(pool: asyncpg.Pool) -> dict[str, int]:
    """Deliveries waiting to be sent and deliveries parked, over every subscription."""
    rows = await pool.fetch(
        """SELECT status, count(*) AS n FROM webhook_deliveries
           WHERE status IN ('pending', 'parked') GROUP BY status"""
    )
    return {"pending": 0, "parked": 0} | {row["status"]: row["n"] for row in rows}


def _uuid(subscription_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(subscription_id)
    except ValueError:
        raise SubscriptionNotFound(subscription_id) from None


async def _existing(pool: asyncpg.Pool, subscription_id: str) -> uuid.UUID:
    sub_id = _uuid(subscription_id)
    if not await pool.fetchval("SELECT true FROM webhook_subscriptions WHERE id = $1", sub_id):
        raise SubscriptionNotFound(subscription_id)
    return sub_id


# ---- the dispatcher -----------------------------------------------------------------


@dataclass(frozen=True)
class DispatchConfig:
    retry: RetryPolicy
    timeout: float
    concurrency: int
    poll_seconds: float

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "DispatchConfig":
        return cls(
            RetryPolicy(
                settings.webhook_first_retry_seconds,
                settings.webhook_max_retry_seconds,
                timedelta(hours=settings.webhook_retry_hours),
            ),
            settings.webhook_timeout_seconds,
            settings.webhook_concurrency_per_endpoint,
            settings.webhook_poll_seconds,
        )


@dataclass(frozen=True)
class Endpoint:
    subscription_id: uuid.UUID
    url: str
    secret: str


@dataclass(frozen=True)
class Claimed:
    seq: int
    event_id: str
    attempts: int
    first_attempt_at: datetime
    body: bytes


class Dispatcher:
    """Keeps one `EndpointWorker` task running per subscription, starting and stopping them as
    subscriptions come and go, and publishes the backlog as a metric."""

    def __init__(self, pool: asyncpg.Pool, principal: str, config: DispatchConfig) -> None:
        self._pool = pool
        self._principal = principal
        self._config = config

    async def run(self) -> None:
        workers: dict[uuid.UUID, asyncio.Task] = {}
        try:
            while True:
                try:
                    await self._reconcile(workers)
                    await self._publish_backlog()
                except Exception as exc:  # database away: keep the workers, look again
                    log.warning("webhook dispatcher could not read subscriptions", extra={"error": repr(exc)})
                await asyncio.sleep(self._config.poll_seconds)
        finally:
            await _cancel(workers.values())

    async def _reconcile(self, workers: dict[uuid.UUID, asyncio.Task]) -> None:
        endpoints = {
            row["id"]: Endpoint(row["id"], row["url"], row["secret"])
            for row in await self._pool.fetch("SELECT id, url, secret FROM webhook_subscriptions")
        }
        for sub_id, task in workers.items():
            if task.done() and not task.cancelled():
                log.error(
                    "webhook worker stopped; restarting it",
                    extra={"subscription_id": str(sub_id)},
                    exc_info=task.exception(),
                )
        gone = [sub_id for sub_id, task in workers.items() if sub_id not in endpoints or task.done()]
        await _cancel([workers.pop(sub_id) for sub_id in gone])
        for sub_id, endpoint in endpoints.items():
            if sub_id not in workers:
                worker = EndpointWorker(self._pool, endpoint, self._config)
                workers[sub_id] = asyncio.create_task(worker.run(), name=f"webhook-{sub_id}")

    async def _publish_backlog(self) -> None:
        for status, count in (await backlog(self._pool)).items():
            WEBHOOK_BACKLOG.labels(self._principal, status).set(count)


class EndpointWorker:
    """Queues a subscription's new inbox rows and sends its due deliveries, at most
    `concurrency` at a time; runs until cancelled."""

    def __init__(self, pool: asyncpg.Pool, endpoint: Endpoint, config: DispatchConfig) -> None:
        self._pool = pool
        self._endpoint = endpoint
        self._config = config
        self._lease = config.timeout + _LEASE_MARGIN_SECONDS

    async def run(self) -> None:
        in_flight: set[asyncio.Task] = set()
        limits = httpx.Limits(max_connections=self._config.concurrency)
        async with httpx.AsyncClient(timeout=self._config.timeout, limits=limits, follow_redirects=False) as http:
            try:
                while True:
                    free = self._config.concurrency - len(in_flight)
                    for claimed in await self._next(free) if free else []:
                        task = asyncio.create_task(self._attempt(http, claimed))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    if in_flight:
                        await asyncio.wait(
                            in_flight, timeout=self._config.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                        )
                    else:
                        await asyncio.sleep(self._config.poll_seconds)
            finally:
                await _cancel(in_flight)

    async def _next(self, limit: int) -> list[Claimed]:
        try:
            await enqueue_new(self._pool, self._endpoint.subscription_id)
            return await claim_due(self._pool, self._endpoint.subscription_id, limit, self._lease)
        except Exception as exc:  # database away: nothing claimed, the rows stay due
            log.warning(
                "webhook deliveries could not be claimed",
                extra={"subscription_id": str(self._endpoint.subscription_id), "error": repr(exc)},
            )
            return []

    async def _attempt(self, http: httpx.AsyncClient, claimed: Claimed) -> None:
        ids = {"subscription_id": str(self._endpoint.subscription_id), "seq": claimed.seq, "event_id": claimed.event_id}
        error = await self._send(http, claimed)
        try:
            if error is None:
                await record_delivered(self._pool, self._endpoint.subscription_id, claimed)
                log.info("webhook delivered", extra=ids | {"attempts": claimed.attempts})
                return
            now = datetime.now(UTC)
            retry_at = self._config.retry.next_attempt(claimed.attempts, claimed.first_attempt_at, now)
            await record_failed(self._pool, self._endpoint.subscription_id, claimed, error, retry_at)
            outcome = "parked" if retry_at is None else "will retry"
            log.warning(
                f"webhook delivery failed; {outcome}", extra=ids | {"attempts": claimed.attempts, "error": error}
            )
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log.warning("webhook outcome could not be recorded", extra=ids | {"error": repr(exc)})

    async def _send(self, http: httpx.AsyncClient, claimed: Claimed) -> str | None:
        """None if the endpoint answered 2xx, else why not, in words that hold no personal data."""
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            signing.EVENT_ID_HEADER: claimed.event_id,
            signing.SEQ_HEADER: str(claimed.seq),
            signing.SUBSCRIPTION_HEADER: str(self._endpoint.subscription_id),
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.sign(self._endpoint.secret, timestamp, claimed.body),
        }
        try:
            # The whole exchange is bounded too: httpx's timeout is per read, and an endpoint
            # that trickles its answer would otherwise hold a slot for ever. The response body
            # is never read: it could hold personal data and we do not keep it.
            async with asyncio.timeout(self._config.timeout):
                async with http.stream("POST", self._endpoint.url, content=claimed.body, headers=headers) as response:
                    status = response.status_code
        except (TimeoutError, httpx.TimeoutException):
            return f"timeout after {self._config.timeout:g} s"
        except httpx.ConnectError as exc:
            return _connect_failure(exc)
        except httpx.HTTPError as exc:
            return f"request failed ({type(exc).__name__})"
        return None if 200 <= status < 300 else f"HTTP {status}"


def _connect_failure(exc: BaseException) -> str:
    """Why a connection failed, from the causes httpx wraps (its own message is often just
    "All connection attempts failed")."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "host name not resolved"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "TLS handshake failed"
    return "connection failed"


async def enqueue_new(pool: asyncpg.Pool, subscription_id: uuid.UUID) -> int:
    """Queues the inbox rows after the subscription's cursor that it asked for; moves the cursor.

    The inbox writer numbers rows under a lock, so no row can commit behind one already seen:
    a cursor never skips a row. The subscription row is locked while its cursor moves, so two
    replicas do not queue the same range (and the primary key would drop a duplicate anyway).
    """
    behind = await pool.fetchval(
        "SELECT last_seq < (SELECT coalesce(max(seq), 0) FROM inbox) FROM webhook_subscriptions WHERE id = $1",
        subscription_id,
    )
    if not behind:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        sub = await conn.fetchrow(
            "SELECT last_seq, event_types FROM webhook_subscriptions WHERE id = $1 FOR UPDATE SKIP LOCKED",
            subscription_id,
        )
        if sub is None:
            return 0
        upto = await conn.fetchval(
            "SELECT max(seq) FROM (SELECT seq FROM inbox WHERE seq > $1 ORDER BY seq LIMIT $2) AS batch",
            sub["last_seq"],
            _ENQUEUE_BATCH,
        )
        if upto is None:
            return 0
        status = await conn.execute(
            """INSERT INTO webhook_deliveries (subscription_id, seq, event_id, event_type)
               SELECT $1, seq, event_id, event_type FROM inbox
               WHERE seq > $2 AND seq <= $3 AND (cardinality($4::text[]) = 0 OR event_type = ANY($4::text[]))
               ON CONFLICT DO NOTHING""",
            subscription_id,
            sub["last_seq"],
            upto,
            sub["event_types"],
        )
        await conn.execute("UPDATE webhook_subscriptions SET last_seq = $2 WHERE id = $1", subscription_id, upto)
    return int(status.split()[-1])


async def claim_due(pool: asyncpg.Pool, subscription_id: uuid.UUID, limit: int, lease: float) -> list[Claimed]:
    """Takes up to `limit` due deliveries, counting the attempt and leasing them for `lease` seconds."""
    rows = await pool.fetch(
        """WITH due AS (
               SELECT seq FROM webhook_deliveries
               WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at <= now()
               ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE webhook_deliveries AS d
           SET attempts = d.attempts + 1, first_attempt_at = coalesce(d.first_attempt_at, now()),
               next_attempt_at = now() + make_interval(secs => $3)
           FROM due, inbox AS i
           WHERE d.subscription_id = $1 AND d.seq = due.seq AND i.seq = due.seq
           RETURNING d.seq, d.event_id, d.attempts, d.first_attempt_at, i.received_at, i.event""",
        subscription_id,
        limit,
        lease,
    )
    return [
        Claimed(row["seq"], row["event_id"], row["attempts"], row["first_attempt_at"], _body(row))
        for row in sorted(rows, key=lambda row: row["seq"])
    ]


def _body(row) -> bytes:
    record = {"seq": row["seq"], "received_at": row["received_at"].isoformat(), "event": json.loads(row["event"])}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


async def record_delivered(pool: asyncpg.Pool, subscription_id: uuid.UUID, claimed: Claimed) -> None:
    await pool.execute(
        """UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL
           WHERE subscription_id = $1 AND seq = $2 AND attempts = $3 AND status = 'pending'""",
        subscription_id,
        claimed.seq,
        claimed.attempts,
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


async def _cancel(tasks) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
