"""The relay of a transactional outbox: rows committed with the caller's own writes are
published to Kafka afterwards, in order, and marked published.

The outbox table has (seq, event, kafka_key, published_at) and a column with the row's time
(`age_column`). With Kafka down, writers keep committing; the relay catches up when the broker
returns (at least once: a crash between publishing and marking publishes again, and consumers
de-duplicate by event id).

One round publishes everything pending (up to `batch_size` rows) in one go: the wake-ups of
many commits while a round runs are one wake-up, and the backlog metrics are measured at most
once a second, not per round.

A batch that fails part-way marks what the broker acknowledged, per key up to the first record
that failed (so that a key's records still reach Kafka in order), and the rest is sent again by
a new producer: a retry repeats at most the unacknowledged part of one batch.
"""

import asyncio
import logging
import time
from pathlib import Path

import asyncpg
from aiokafka.errors import KafkaError

from contracts import kafka_binding
from services.runtime.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST, OUTBOX_PUBLISHED
from services.runtime.producers import Backoff, RecoveringProducer, retrieve_error

log = logging.getLogger(__name__)

# Defines create_outbox_table(name, age_column, extra_columns), the one definition of an outbox
# table; a service puts it before its own schema, which calls it.
OUTBOX_SQL = Path(__file__).with_name("outbox.sql").read_text()

SEND_TIMEOUT = 30.0  # seconds for a batch's acknowledgements; after that the producer is rebuilt
MEASURE_SECONDS = 1.0  # the backlog gauges' refresh: a count per round would cost a query per round


class PartlyPublished(KafkaError):
    """Some records of a batch were not acknowledged (the first error is the cause)."""


class Relay:
    """Publishes unpublished outbox rows in acceptance order, then marks them published."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: RecoveringProducer,
        table: str,
        topic: str,
        age_column: str,
        batch_size: int = 500,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._table = table
        self._topic = topic
        self._age_column = age_column
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._measured_at = float("-inf")
        # every outbox holds CloudEvents (a gateway's accepted events, the consent changes)
        self._headers = kafka_binding.structured()

    def notify(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        backoff = Backoff(f"outbox relay of {self._table}")
        while True:
            try:
                published = await self.publish_pending()
            except KafkaError as exc:
                await self._producer.discard()
                await self._measure_quietly()
                await backoff.failed(exc)
                continue
            except Exception as exc:  # the database away, or a connection of the pool broken by it
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            if published < self._batch_size:
                await self._wait(timeout=1.0)

    async def publish_pending(self) -> int:
        rows = await self._pool.fetch(
            f"SELECT seq, event, kafka_key FROM {self._table} WHERE published_at IS NULL ORDER BY seq LIMIT $1",
            self._batch_size,
        )
        if rows:
            futures, refused = await self._send([(row["kafka_key"], row["event"]) for row in rows])
            acknowledged = [f.done() and not f.cancelled() and f.exception() is None for f in futures]
            acknowledged += [False] * (len(rows) - len(futures))  # not even queued
            done = publishable_prefix([row["kafka_key"] for row in rows], acknowledged)
            await self._mark([rows[i]["seq"] for i in done])
            if len(done) < len(rows):
                cause = refused or _first_error(futures)
                missing = len(rows) - len(done)
                raise PartlyPublished(f"{missing} of {len(rows)} records not acknowledged: {cause!r}") from cause
        if time.monotonic() - self._measured_at >= MEASURE_SECONDS:
            await self._measure()
        return len(rows)

    async def _send(self, records: list[tuple[str, str]]) -> tuple[list[asyncio.Future], KafkaError | None]:
        """Queue every record, then wait (bounded) for the broker's acknowledgements. A record that
        cannot be queued (no metadata, buffer full) ends the batch there."""
        producer = await self._producer.get()
        futures, refused = [], None
        try:
            for key, value in records:
                sent = await producer.send(self._topic, value.encode(), key=key.encode(), headers=list(self._headers))
                futures.append(sent)
        except KafkaError as exc:
            refused = exc
        if futures:
            await asyncio.wait(futures, timeout=SEND_TIMEOUT)
        for future in futures:
            future.add_done_callback(retrieve_error)
        return futures, refused

    async def _mark(self, seqs: list[int]) -> None:
        if not seqs:
            return
        await self._pool.execute(
            f"UPDATE {self._table} SET published_at = now() WHERE seq = ANY($1::bigint[])",
            seqs,
        )
        OUTBOX_PUBLISHED.labels(self._table).inc(len(seqs))

    async def _measure(self) -> None:
        row = await self._pool.fetchrow(
            f"SELECT count(*) AS backlog, extract(epoch FROM now() - min({self._age_column})) AS oldest "
            f"FROM {self._table} WHERE published_at IS NULL"
        )
        self._measured_at = time.monotonic()
        OUTBOX_BACKLOG.labels(self._table).set(row["backlog"])
        OUTBOX_OLDEST.labels(self._table).set(float(row["oldest"] or 0))

    async def _measure_quietly(self) -> None:
        try:
            await self._measure()
        except Exception:  # noqa: S110 — the metric waits for the next round; the error is logged by run
            pass

    async def _wait(self, timeout: float) -> None:
        try:
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation
            # that comes as the event is set, and the relay would then not stop
            async with asyncio.timeout(timeout):
                await self._wakeup.wait()
        except TimeoutError:
            pass
        self._wakeup.clear()

    async def backlog(self) -> int:
        return await self._pool.fetchval(f"SELECT count(*) FROM {self._table} WHERE published_at IS NULL")


def publishable_prefix(keys: list[str], acknowledged: list[bool]) -> list[int]:
    """Indexes of the records that may be marked published: acknowledged, and no earlier record of
    the same key failed (it will be sent again, and the later ones must follow it)."""
    failed: set[str] = set()
    marked = []
    for index, (key, ok) in enumerate(zip(keys, acknowledged, strict=True)):
        if key in failed:
            continue
        if ok:
            marked.append(index)
        else:
            failed.add(key)
    return marked


def _first_error(futures: list[asyncio.Future]) -> BaseException | None:
    for future in futures:
        if not future.done():
            return TimeoutError(f"no acknowledgement within {SEND_TIMEOUT:.0f} s")
        if not future.cancelled() and future.exception() is not None:
            return future.exception()
    return None
