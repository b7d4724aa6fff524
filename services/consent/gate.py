"""The gate: reads every events topic, decides each event, forwards what may cross.

Per batch, in this order:
1. open a PostgreSQL transaction and share-lock the consents of every person in the batch;
2. decide each event with the pure `decide`, and take each recipient's next delivery numbers;
3. in one Kafka transaction, write the deliveries (each with its recipient's number in the
   `samordna-delivery-seq` header), the shared copy for the board, one
   decision record per decision, dead letters, and the consumed offsets; commit it;
4. end the PostgreSQL transaction, releasing the locks.

A revocation updates the consent row, so it waits for every batch that read the consent
(step 1) until that batch's outputs are committed (step 3), and every batch that starts
after the revocation sees it. Offsets move only together with the outputs.

After any failure while its Kafka transaction is open, the gate cannot know whether the
transaction committed (a commit that timed out may still be applied). Before it lets go of the
consent locks it builds a new transactional producer with the same transactional id: the
broker then fences the old producer and completes or aborts its transaction, so nothing of the
failed batch can become visible after a revocation that waited for those locks. Then it goes
back to its committed offsets and decides the batch again.

Delivery numbers are taken in the same PostgreSQL transaction, so an aborted batch gives its
numbers back. The one case left: PostgreSQL's COMMIT lost after Kafka's commit succeeded —
then the next batch hands the same numbers out again, and a subscriber sees a number twice
(never a gap) and tells the events apart by id.
"""

import asyncio
import functools
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from contracts import CloudEvent, DecisionBatch, ForwardedEvent, GateDecision, InvalidEvent, parse_event
from contracts.topics import (
    DELIVERY_SEQ_HEADER,
    EVENTS_TOPIC_PATTERN,
    GATE_DECISIONS,
    SHARED_EVENTS,
    dead_letters_for,
    deliveries_topic,
    sender_of,
)
from services.consent import repository
from services.consent.domain import Decision, StatutoryBasis, decide
from services.runtime.consuming import coordination_ended
from services.runtime.kafka import dead_letter
from services.runtime.metrics import CONSUMER_RESTARTS, OldestUncommitted
from services.runtime.metrics import DEAD_LETTERS as DEAD_LETTER_COUNT
from services.runtime.metrics import GATE_DECISIONS as DECISION_COUNT
from services.runtime.producers import Backoff, RecoveringProducer, retrieve_error
from services.runtime.pseudonym import Pseudonymizer

log = logging.getLogger(__name__)

GROUP_ID = "samordna-gate"
CONSUMER_NAME = "gate"
DECISIONS_PER_RECORD = 1000
TRANSACTION_TIMEOUT = 30.0  # seconds for one batch's Kafka transaction, commit included


class Gate:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        producer: RecoveringProducer,
        pool: asyncpg.Pool,
        pseudonyms: Pseudonymizer,
        statutory: dict[str, StatutoryBasis],
        max_records: int = 500,
        group_id: str = GROUP_ID,
        make_consumer: Callable[[], AIOKafkaConsumer] | None = None,
    ) -> None:
        self._consumer = consumer
        self._make_consumer = make_consumer  # a new consumer, for one that lost its group for good
        self._producer = producer
        self._pool = pool
        self._pseudonyms = pseudonyms
        self._statutory = statutory
        self._max_records = max_records
        self._group_id = group_id
        self._partition_counts: dict[str, int] = {}
        self._oldest = OldestUncommitted(group_id)
        self.decided = 0

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    def subscribe(self) -> None:
        self._consumer.subscribe(pattern=EVENTS_TOPIC_PATTERN)

    async def run(self) -> None:
        backoff = Backoff("gate batch")
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            except Exception as exc:  # the broker away; or the consumer lost its group for good
                await backoff.failed(exc)
                if coordination_ended(self._consumer) and self._make_consumer is not None:
                    await self._restart_consumer()
                continue
            if not batch:
                continue
            for tp, records in batch.items():
                self._oldest.holding(tp.topic, records[0].timestamp)
            try:
                await self.process(batch)
            except Exception as exc:  # the broker, the database, a pool connection broken by a restart
                # Nothing of this batch is visible (see the module's docstring): decide it again.
                await backoff.failed(exc)
                await self._rewind(list(batch))
                continue
            backoff.succeeded()
            for tp in batch:
                self._oldest.committed(tp.topic)

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        records = [record for partition in batch.values() for record in partition]
        events, rejects = _parse(records)
        pseudonyms = [self._pseudonyms.of(event.subject) for _, event in events]
        async with self._pool.acquire() as conn, conn.transaction():
            consents = await repository.lock_consents_of(conn, sorted(set(pseudonyms)))
            now = await repository.database_now(conn)
            outcomes = [
                (event, pseudonym, decide(event, consents[pseudonym], self._statutory, now))
                for (_, event), pseudonym in zip(events, pseudonyms, strict=True)
            ]
            deliveries = Counter(d.recipient for *_, decisions in outcomes for d in decisions if d.forwarded)
            next_seq = await repository.take_delivery_numbers(conn, deliveries) if deliveries else {}
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            try:
                async with asyncio.timeout(TRANSACTION_TIMEOUT):
                    decided = await self._write(outcomes, rejects, now, next_seq, offsets)
            except Exception:
                await self._fence()
                raise
        self.decided += len(events)
        for d in decided:
            DECISION_COUNT.labels(d.sender, d.recipient or "-", str(d.forwarded).lower(), d.reason).inc()
        for record, _ in rejects:
            DEAD_LETTER_COUNT.labels(CONSUMER_NAME, record.topic).inc()
        forwarded = sum(d.forwarded for d in decided)
        log.info(
            "batch decided",
            extra={
                "events": len(events),
                "decisions": len(decided),
                "forwarded": forwarded,
                "dead_letters": len(rejects),
            },
        )

    async def _write(self, outcomes, rejects, now: datetime, next_seq: dict[str, int], offsets) -> list[GateDecision]:
        """One Kafka transaction: deliveries, shared copies, decisions, dead letters, offsets."""
        producer = await self._producer.get()
        async with producer.transaction():
            decided: list[GateDecision] = []
            for event, pseudonym, decisions in outcomes:
                await self._forward(producer, event, pseudonym, decisions, now, next_seq)
                decided += [_decision_record(event, pseudonym, d, now) for d in decisions]
            for start in range(0, len(decided), DECISIONS_PER_RECORD):
                chunk = DecisionBatch(decisions=decided[start : start + DECISIONS_PER_RECORD])
                sent = await producer.send(GATE_DECISIONS, chunk.model_dump_json().encode())
                sent.add_done_callback(retrieve_error)
            for record, reason in rejects:
                letter = dead_letter(record, CONSUMER_NAME, reason)
                sent = await producer.send(
                    dead_letters_for(record.topic), letter.model_dump_json().encode(), key=record.key
                )
                sent.add_done_callback(retrieve_error)
            await producer.send_offsets_to_transaction(offsets, self._group_id)
        return decided

    async def _fence(self) -> None:
        """Discard the producer and start a new one with the same transactional id, retrying until
        the broker answers: its InitProducerId ends the old producer's transaction one way or the
        other. Called with the consent locks still held."""
        await self._producer.discard()
        backoff = Backoff("gate fencing its failed transaction")
        while True:
            try:
                await self._producer.get()
            except (KafkaError, OSError, TimeoutError) as exc:
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            return

    async def _forward(
        self,
        producer: AIOKafkaProducer,
        event: CloudEvent,
        pseudonym: str,
        decisions: list[Decision],
        now: datetime,
        next_seq: dict[str, int],
    ) -> None:
        forwarded = [d for d in decisions if d.forwarded]
        if not forwarded:
            return
        key = pseudonym.encode()
        value = event.to_json()
        for decision in forwarded:
            seq = next_seq[decision.recipient]
            next_seq[decision.recipient] = seq + 1
            headers = [(DELIVERY_SEQ_HEADER, str(seq).encode())]
            await self._send(producer, deliveries_topic(decision.recipient), value, key, headers)
        shared = ForwardedEvent.model_construct(
            event=event,
            parties=[event.principal, *(d.recipient for d in forwarded)],
            consent_ids=sorted({str(d.consent_id) for d in forwarded if d.consent_id}),
            decided_at=now,
        )
        await self._send(producer, SHARED_EVENTS, shared.model_dump_json().encode(), key)

    async def _send(
        self, producer: AIOKafkaProducer, topic: str, value: bytes, key: bytes, headers: list | None = None
    ) -> None:
        """Send keyed by the pseudonym, to the partition the default partitioner would pick, with the
        key's hash cached (aiokafka would hash it again for every record, in pure Python)."""
        partitions = self._partition_counts.get(topic)
        if partitions is None:
            partitions = self._partition_counts[topic] = len(await producer.partitions_for(topic))
        sent = await producer.send(topic, value, key=key, partition=_key_hash(key) % partitions, headers=headers)
        sent.add_done_callback(retrieve_error)  # the transaction's commit reports a failed send

    async def _restart_consumer(self) -> None:
        """A new consumer in the same group, started (retried until the broker answers): it
        resumes from the committed offsets."""
        log.warning("the gate's consumer lost its group for good; starting a new one")
        CONSUMER_RESTARTS.labels(self._group_id).inc()
        await _stop_quietly(self._consumer)
        backoff = Backoff("starting a new gate consumer")
        while True:
            candidate = self._make_consumer()
            try:
                await candidate.start()
            except Exception as exc:
                await _stop_quietly(candidate)
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            self._consumer = candidate
            self.subscribe()
            return

    async def _rewind(self, partitions: list[TopicPartition]) -> None:
        backoff = Backoff("gate going back to its committed offsets")
        while True:
            owned = [tp for tp in partitions if tp in self._consumer.assignment()]
            try:
                if owned:
                    await self._consumer.seek_to_committed(*owned)
            except (KafkaError, OSError, TimeoutError) as exc:
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            return


async def _stop_quietly(consumer: AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(consumer.stop(), 10)
    except Exception as exc:  # a broken consumer may fail to stop too; it is dropped either way
        log.debug("stopping a gate consumer failed", extra={"error": repr(exc)})


@functools.lru_cache(maxsize=65536)
def _key_hash(key: bytes) -> int:
    """The Java client's (and aiokafka's) default partitioning hash, so a key lands where theirs would."""
    return murmur2(key) & 0x7FFFFFFF


def _parse(
    records: list[ConsumerRecord],
) -> tuple[list[tuple[ConsumerRecord, CloudEvent]], list[tuple[ConsumerRecord, str]]]:
    events, rejects = [], []
    for record in records:
        try:
            event = parse_event(record.value or b"")
        except InvalidEvent as exc:
            rejects.append((record, str(exc)))
            continue
        owner = sender_of(record.topic)
        if event.principal != owner:
            rejects.append((record, f"principal {event.principal} does not own {record.topic}"))
        else:
            events.append((record, event))
    return events, rejects


def _decision_record(event: CloudEvent, pseudonym: str, decision: Decision, now: datetime) -> GateDecision:
    return GateDecision.model_construct(  # our own values, already valid: no second validation
        decision_id=str(uuid.uuid4()),
        event_id=event.id,
        event_type=event.type,
        category=event.category,
        sender=event.principal,
        recipient=decision.recipient,
        person_pseudonym=pseudonym,
        forwarded=decision.forwarded,
        reason=decision.reason,
        basis=decision.basis,
        consent_id=str(decision.consent_id) if decision.consent_id else None,
        legal_reference=decision.legal_reference,
        decided_at=now,
        event_time=event.time,
    )
