"""The transactional outbox: an event answered with 202 is a committed row; a relay publishes it.

With Kafka down the API keeps accepting; the relay catches up when the broker returns.
"""

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from faststream.kafka import KafkaBroker

from contracts import CloudEvent
from services.gateway.errors import EventIdConflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    id: str
    accepted_at: datetime


async def accept(pool: asyncpg.Pool, event: CloudEvent, kafka_key: str) -> Accepted:
    """Store the event once. The same id with the same body answers the same; another body is a conflict."""
    body = event.to_json().decode()
    body_sha256 = hashlib.sha256(body.encode()).hexdigest()
    row = await pool.fetchrow(
        """INSERT INTO outbox (event_id, body_sha256, event, kafka_key) VALUES ($1, $2, $3, $4)
           ON CONFLICT (event_id) DO NOTHING RETURNING accepted_at""",
        event.id,
        body_sha256,
        body,
        kafka_key,
    )
    if row is None:
        row = await pool.fetchrow("SELECT body_sha256, accepted_at FROM outbox WHERE event_id = $1", event.id)
        if row["body_sha256"] != body_sha256:
            raise EventIdConflict(event.id)
    return Accepted(event.id, row["accepted_at"])


class Relay:
    """Publishes unpublished outbox rows in acceptance order, then marks them published."""

    def __init__(self, pool: asyncpg.Pool, broker: KafkaBroker, topic: str, batch_size: int = 500) -> None:
        self._pool = pool
        self._broker = broker
        self._topic = topic
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()

    def notify(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except Exception as exc:  # broker or database away: keep the rows, try again
                log.warning("outbox relay could not publish; will retry", extra={"error": repr(exc)})
                await asyncio.sleep(2)
                continue
            if published < self._batch_size:
                await self._wait(timeout=1.0)

    async def publish_pending(self) -> int:
        rows = await self._pool.fetch(
            "SELECT seq, event, kafka_key FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        futures = [
            await self._broker.publish(
                row["event"].encode(), self._topic, key=row["kafka_key"].encode(), no_confirm=True
            )
            for row in rows
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
        await self._pool.execute(
            "UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])", [row["seq"] for row in rows]
        )
        return len(rows)

    async def _wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            pass
        self._wakeup.clear()

    async def backlog(self) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
