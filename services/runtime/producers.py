"""Kafka producers that come back after the broker went away.

aiokafka's producer does not heal itself the way the Java client does (docs/architecture.md,
"When the broker goes away", lists what we found in its source): after an outage with records
in flight an idempotent producer can answer every later send with `OutOfOrderSequenceNumber`,
its sender task dies for good on `ProducerFenced` or `OutOfOrderSequenceNumber`, and a
transaction whose commit timed out has an unknown outcome. A producer is therefore never
retried after a failed send: it is discarded, and the next use builds a new one (a new producer
id, sequence numbers from zero; with a transactional id, a new epoch that fences the old
producer and completes or aborts its open transaction).
"""

import asyncio
import logging
import random
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.runtime.kafka import client_options, kafka_ready
from services.runtime.metrics import PRODUCER_REBUILDS

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0  # a clean stop flushes; with the broker away it would wait for ever


class ProducerDiscarded(KafkaError):
    """Set on records still queued in a producer that was discarded; their rows are sent again."""


class RecoveringProducer:
    """One producer at a time for `name`, built by `build` when first needed after a discard."""

    def __init__(self, name: str, build: Callable[[], AIOKafkaProducer]) -> None:
        self.name = name
        self._build = build
        self._current: AIOKafkaProducer | None = None
        self._built = 0

    async def get(self) -> AIOKafkaProducer:
        """The current producer, started; raises if the broker cannot be reached (try again later)."""
        if self._current is None:
            candidate = self._build()
            try:
                await candidate.start()
            except BaseException:
                await _close(candidate)
                raise
            self._current = candidate
            self._built += 1
            if self._built > 1:
                PRODUCER_REBUILDS.labels(self.name).inc()
        return self._current

    async def ready(self) -> bool:
        """The current producer's broker answers (no producer is built for asking)."""
        return self._current is not None and await kafka_ready(self._current)

    async def discard(self) -> None:
        """Close the current producer; the next `get` builds a new one."""
        producer, self._current = self._current, None
        if producer is not None:
            await _close(producer)

    async def stop(self) -> None:
        await self.discard()


async def _close(producer: AIOKafkaProducer) -> None:
    stopping = asyncio.ensure_future(producer.stop())
    done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT)
    if not done:
        # stop() waits for queued batches that cannot be delivered: fail them, so that it ends.
        producer._message_accumulator.fail_all(ProducerDiscarded("producer discarded"))  # noqa: SLF001
        done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT)
    if not done:
        stopping.cancel()
    elif stopping.exception() is not None:
        log.debug("producer stop failed", extra={"error": repr(stopping.exception())})


def retrieve_error(future: asyncio.Future) -> None:
    """A send future's done-callback: its error counts as seen (the caller learns of a failed send
    another way — a batch's wait, a transaction's commit — and a discarded producer fails its
    queue after nobody waits), so asyncio does not log "Future exception was never retrieved"."""
    if not future.cancelled():
        future.exception()


def idempotent_producer(name: str, settings) -> RecoveringProducer:
    """An idempotent, acks=all producer connected as the service's Kafka user (ServiceSettings)."""
    return RecoveringProducer(name, lambda: AIOKafkaProducer(**producer_options(settings), enable_idempotence=True))


def producer_options(settings) -> dict:
    return client_options(settings) | {"request_timeout_ms": settings.kafka_producer_request_timeout_ms}


class Backoff:
    """Full-jitter exponential backoff, and one log line when trouble starts and one when it ends
    (not one per record or per attempt)."""

    def __init__(self, what: str, first: float = 0.25, cap: float = 5.0) -> None:
        self._what = what
        self._first = first
        self._cap = cap
        self._failures = 0
        self._since = 0.0

    async def failed(self, exc: BaseException) -> None:
        if self._failures == 0:
            self._since = time.monotonic()
            log.warning("%s failed; retrying with backoff", self._what, extra={"error": repr(exc)})
        self._failures += 1
        await asyncio.sleep(random.uniform(0, min(self._cap, self._first * 2**self._failures)))

    def succeeded(self) -> None:
        if self._failures:
            log.info(
                "%s works again",
                self._what,
                extra={"attempts": self._failures, "seconds": round(time.monotonic() - self._since, 1)},
            )
        self._failures = 0
