"""The relay of a transactional outbox: rows committed with the caller's own writes are
published to Kafka afterwards, in order, and marked published.

The outbox table has (seq, event, kafka_key, published_at). With Kafka down, writers keep
committing; the relay catches up when the broker returns (at least once: a crash between
publishing and marking publishes again, and consumers de-duplicate by event id).
"""

import asyncio
import logging

import asyncpg
from faststream.kafka import KafkaBroker

from services.runtime.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)


class Relay:
    """Publishes unpublished outbox rows in acceptance order, then marks them published."""

    def __init__(self, pool: asyncpg.Pool, broker: KafkaBroker, table: str, topic: str, batch_size: int = 500) -> None:
        self._pool = pool
        self._table = table
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
            f"SELECT seq, event, kafka_key FROM {self._table} WHERE published_at IS NULL ORDER BY seq LIMIT $1",
            self._batch_size,
        )
        if not rows:
            OUTBOX_BACKLOG.labels(self._table).set(0)
            return 0
        futures = [
            await self._broker.publish(
                row["event"].encode(), self._topic, key=row["kafka_key"].encode(), no_confirm=True
            )
            for row in rows
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
        await self._pool.execute(
            f"UPDATE {self._table} SET published_at = now() WHERE seq = ANY($1::bigint[])",
            [row["seq"] for row in rows],
        )
        OUTBOX_PUBLISHED.labels(self._table).inc(len(rows))
        if len(rows) == self._batch_size:
            OUTBOX_BACKLOG.labels(self._table).set(await self.backlog())
        else:
            OUTBOX_BACKLOG.labels(self._table).set(0)
        return len(rows)

    async def _wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            pass
        self._wakeup.clear()

    async def backlog(self) -> int:
        return await self._pool.fetchval(f"SELECT count(*) FROM {self._table} WHERE published_at IS NULL")
