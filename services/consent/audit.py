"""The audit writer: every decision on gate.decisions becomes a row, once; and the publisher of
the chain's signed checkpoints on audit.checkpoints."""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from contracts import DecisionBatch
from contracts.topics import AUDIT_CHECKPOINTS, GATE_DECISIONS
from services.consent import checkpoint, repository
from services.consent.chain import derive_key
from services.runtime.auth import Caller
from services.runtime.consuming import batch_consumer, from_value
from services.runtime.pseudonym import Pseudonymizer

GROUP_ID = "samordna-audit"
SEND_TIMEOUT_SECONDS = 30

log = logging.getLogger(__name__)


def chain_key(audit_secret: bytes) -> bytes:
    return derive_key(audit_secret, "chain")


def subscribe_audit_writer(broker: KafkaBroker, pool: asyncpg.Pool, audit_secret: bytes) -> None:
    key = chain_key(audit_secret)

    async def write(batches: list[DecisionBatch]) -> None:
        async with pool.acquire() as conn:
            await repository.record_decisions(conn, [d for batch in batches for d in batch.decisions], key)

    batch_consumer(broker, GATE_DECISIONS, GROUP_ID, from_value(DecisionBatch.model_validate_json), write)


async def head_checkpoint(pool: asyncpg.Pool, publisher: str) -> checkpoint.Checkpoint:
    async with pool.acquire() as conn:
        seq, row_hash, keyed_from = await repository.audit_head(conn)
    return checkpoint.Checkpoint(
        seq=seq, row_hash=row_hash, keyed_from=keyed_from, published_at=datetime.now(UTC), publisher=publisher
    )


async def publish_checkpoints(
    pool: asyncpg.Pool,
    new_producer: Callable[[], AIOKafkaProducer],
    audit_secret: bytes,
    publisher: str,
    interval: float,
) -> None:
    """Publish the signed head every `interval` seconds, for ever — also when it has not moved,
    so that a gap between checkpoints is itself a sign (the publisher was down, or was stopped).

    A failed send leaves aiokafka's producer possibly unusable (docs/architecture.md), so it is
    closed and a new one built before the next attempt; the database or the broker being away
    is logged once per episode and tried again at the next tick.
    """
    key, producer, failing = checkpoint.signing_key(audit_secret), None, False
    try:
        while True:
            try:
                if producer is None:
                    producer = new_producer()
                    await producer.start()
                head = await head_checkpoint(pool, publisher)
                value = checkpoint.signed(key, head)
                await asyncio.wait_for(
                    producer.send_and_wait(AUDIT_CHECKPOINTS, value, key=checkpoint.KAFKA_KEY), SEND_TIMEOUT_SECONDS
                )
                if failing:
                    log.info("audit checkpoints published again", extra={"seq": head.seq})
                failing = False
            except Exception as exc:  # any failure: the next tick tries again on a fresh producer
                if not failing:
                    log.warning("audit checkpoint not published; will retry", extra={"error": repr(exc)})
                failing = True
                producer = await _discard(producer)
            await asyncio.sleep(interval)
    finally:
        await _discard(producer)


async def _discard(producer: AIOKafkaProducer | None) -> None:
    if producer is not None:
        try:
            await asyncio.wait_for(producer.stop(), SEND_TIMEOUT_SECONDS)
        except Exception as exc:  # a broken producer may fail to stop too; it is dropped either way
            log.debug("stopping a failed checkpoint producer failed", extra={"error": repr(exc)})
    return None


class AuditTrail:
    """Reads the audit: what was decided about a person, as far as the caller's principal may know.

    Only coordinators reach it (the API's role check); ops and systems see no person's audit. A
    person with no consent and a person with no decisions visible to the caller give the same
    empty answer, so the answer discloses nothing about what others exchanged.
    """

    def __init__(self, pool: asyncpg.Pool, pseudonyms: Pseudonymizer) -> None:
        self._pool = pool
        self._pseudonyms = pseudonyms

    async def of_person(self, caller: Caller, person: str) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await repository.audit_visible_to(conn, self._pseudonyms.of(person), caller.principal)
