"""The audit writer: every decision on gate.decisions becomes a row, once; and the publisher of
the chain's signed checkpoints on audit.checkpoints."""

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from contracts import DecisionBatch
from contracts.topics import AUDIT_CHECKPOINTS, GATE_DECISIONS
from services.consent import checkpoint, repository
from services.consent.chain import derive_key
from services.consent.ports import AccessRecorder, AuditStore, Row
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller
from services.runtime.consuming import batch_consumer, from_value
from services.runtime.producers import RecoveringProducer
from services.runtime.pseudonym import Pseudonymizer

GROUP_ID = "samordna-audit"
KAFKA_TIMEOUT_SECONDS = 30
TAIL = 100  # records read back from audit.checkpoints: a few forged or stray ones cannot hide the newest

log = logging.getLogger(__name__)


def chain_key(audit_secret: bytes) -> bytes:
    return derive_key(audit_secret, "chain")


def subscribe_audit_writer(broker: KafkaBroker, pool: asyncpg.Pool, audit_secret: bytes) -> None:
    key = chain_key(audit_secret)

    async def write(batches: list[DecisionBatch]) -> None:
        async with pool.acquire() as conn:
            await repository.record_decisions(conn, [d for batch in batches for d in batch.decisions], key)

    batch_consumer(broker, GATE_DECISIONS, GROUP_ID, from_value(DecisionBatch.model_validate_json), write)


async def head_checkpoint(
    pool: asyncpg.Pool, publisher: str, previous: checkpoint.Checkpoint | None
) -> tuple[checkpoint.Checkpoint, str | None]:
    """The chain's head as a checkpoint, and why it must not be signed (checkpoint.refusal) or None.

    Both from one snapshot: read in two, a chain rewritten and put back between the reads would
    give the rewritten head with the true hash at the previous checkpoint, and the signature."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        seq, row_hash, keyed_from = await repository.audit_head(conn)
        hash_at_previous = await repository.audit_hash_at(conn, previous.seq) if previous else None
    head = checkpoint.Checkpoint(
        seq=seq, row_hash=row_hash, keyed_from=keyed_from, published_at=datetime.now(UTC), publisher=publisher
    )
    return head, checkpoint.refusal(previous, head.seq, hash_at_previous)


async def checkpoints_on_topic(kafka: dict, key: bytes, tail: int = TAIL) -> tuple[list[checkpoint.Checkpoint], int]:
    """The valid checkpoints among the last `tail` records of audit.checkpoints, and how many
    records there were not valid checkpoints (forged, another key, or not a checkpoint at all)."""
    consumer = AIOKafkaConsumer(**kafka, enable_auto_commit=False, group_id=None)
    await asyncio.wait_for(consumer.start(), KAFKA_TIMEOUT_SECONDS)
    try:
        partition = TopicPartition(AUDIT_CHECKPOINTS, 0)
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        consumer.seek(partition, max(0, end - tail))
        records = []
        while end and (not records or records[-1].offset < end - 1):
            batch = await consumer.getmany(partition, timeout_ms=KAFKA_TIMEOUT_SECONDS * 1000)
            if not batch:
                raise TimeoutError(f"{AUDIT_CHECKPOINTS} did not answer up to offset {end - 1}")
            records += batch[partition]
    finally:
        await consumer.stop()
    found, invalid = [], 0
    for record in records:
        try:
            found.append(checkpoint.read(key, record.value or b""))
        except checkpoint.BadCheckpoint:
            invalid += 1
    return found, invalid


async def publish_checkpoints(
    pool: asyncpg.Pool,
    kafka: dict,
    producer: RecoveringProducer,
    audit_secret: bytes,
    publisher: str,
    interval: float,
):
    """Publish the signed head every `interval` seconds, for ever — also when it has not moved,
    so that a gap between checkpoints is itself a sign (the publisher was down, or was stopped) —
    but only a head that extends the newest checkpoint (checkpoint.refusal).

    A failed send leaves aiokafka's producer possibly unusable (docs/architecture.md), so it is
    discarded and a new one built for the next attempt; the database or the broker being away
    is logged once per episode and tried again at the next tick.
    """
    key = checkpoint.signing_key(audit_secret)
    previous, known, failing, refused = None, False, False, None
    try:
        while True:
            try:
                if not known:  # after a restart, the evidence is what the topic already holds
                    previous, known = checkpoint.newest((await checkpoints_on_topic(kafka, key))[0]), True
                head, reason = await head_checkpoint(pool, publisher, previous)
                if reason:
                    if reason != refused:
                        log.critical("audit checkpoint withheld", extra={"reason": reason})
                    refused = reason
                else:
                    value = checkpoint.signed(key, head)
                    sending = await producer.get()
                    await asyncio.wait_for(
                        sending.send_and_wait(AUDIT_CHECKPOINTS, value, key=checkpoint.KAFKA_KEY),
                        KAFKA_TIMEOUT_SECONDS,
                    )
                    previous, refused = head, None
                if failing:
                    log.info("audit checkpoints published again", extra={"seq": head.seq})
                failing = False
            except Exception as exc:  # any failure: the next tick tries again on a fresh producer
                if not failing:
                    log.warning("audit checkpoint not published; will retry", extra={"error": repr(exc)})
                failing = True
                await producer.discard()
            await asyncio.sleep(interval)
    finally:
        await producer.stop()


class AuditTrail:
    """Reads the audit: what was decided about a person, as far as the caller's principal may know.

    Only coordinators reach it (the API's role check); ops and systems see no person's audit. A
    person with no consent and a person with no decisions visible to the caller give the same
    empty answer, so the answer discloses nothing about what others exchanged.
    """

    def __init__(self, store: AuditStore, pseudonyms: Pseudonymizer, access: AccessRecorder) -> None:
        self._store = store
        self._pseudonyms = pseudonyms
        self._access = access

    async def of_person(self, caller: Caller, person: str) -> list[Row]:
        pseudonym = self._pseudonyms.of(person)
        rows = await self._store.visible_to(pseudonym, caller.principal)
        await self._access.record([Access(Accessor.of_token(caller), "audit.search", pseudonym, {"found": len(rows)})])
        return rows

    async def for_extract(self, caller: Caller, pseudonym: str) -> list[Row]:
        """The same decisions, for the log extract (services/consent/log_extract.py), which logs the look."""
        return await self._store.visible_to(pseudonym, caller.principal)
