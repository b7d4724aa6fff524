"""The gate: reads every events topic, decides each event, forwards what may cross.

Per batch, in this order:
1. open a PostgreSQL transaction and share-lock the consents of every person in the batch;
2. decide each event with the pure `decide`;
3. in one Kafka transaction, write the deliveries, the shared copy for the board, one
   decision record per decision, dead letters, and the consumed offsets; commit it;
4. end the PostgreSQL transaction, releasing the locks.

A revocation updates the consent row, so it waits for every batch that read the consent
(step 1) until that batch's outputs are committed (step 3), and every batch that starts
after the revocation sees it. Offsets move only together with the outputs.
"""

import asyncio
import logging
import uuid
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from contracts import CloudEvent, ForwardedEvent, GateDecision, InvalidEvent, parse_event
from contracts.topics import (
    DEAD_LETTERS,
    EVENTS_TOPIC_PATTERN,
    GATE_DECISIONS,
    SHARED_EVENTS,
    deliveries_topic,
    sender_of,
)
from services.consent import repository
from services.consent.domain import Decision, StatutoryBasis, decide
from services.runtime.kafka import dead_letter
from services.runtime.pseudonym import Pseudonymizer

log = logging.getLogger(__name__)

GROUP_ID = "samordna-gate"
CONSUMER_NAME = "gate"


class Gate:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        pool: asyncpg.Pool,
        pseudonyms: Pseudonymizer,
        statutory: dict[str, StatutoryBasis],
        max_records: int = 500,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._pool = pool
        self._pseudonyms = pseudonyms
        self._statutory = statutory
        self._max_records = max_records
        self.decided = 0

    def subscribe(self) -> None:
        self._consumer.subscribe(pattern=EVENTS_TOPIC_PATTERN)

    async def run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
            if not batch:
                continue
            try:
                await self.process(batch)
            except (KafkaError, asyncpg.PostgresError, OSError) as exc:
                # Nothing of this batch was committed: go back and decide it again.
                log.warning("gate batch failed, retrying from committed offsets", extra={"error": repr(exc)})
                await self._rewind(list(batch))
                await asyncio.sleep(1)

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        records = [record for partition in batch.values() for record in partition]
        events, rejects = _parse(records)
        pseudonyms = [self._pseudonyms.of(event.subject) for _, event in events]
        async with self._pool.acquire() as conn, conn.transaction():
            consents = await repository.lock_consents_of(conn, sorted(set(pseudonyms)))
            now = await repository.database_now(conn)
            async with self._producer.transaction():
                for (_, event), pseudonym in zip(events, pseudonyms, strict=True):
                    decisions = decide(event, consents[pseudonym], self._statutory, now)
                    await self._publish(event, pseudonym, decisions, now)
                for record, reason in rejects:
                    letter = dead_letter(record, CONSUMER_NAME, reason)
                    await self._producer.send(DEAD_LETTERS, letter.model_dump_json().encode(), key=record.key)
                offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
                await self._producer.send_offsets_to_transaction(offsets, GROUP_ID)
        self.decided += len(events)

    async def _publish(self, event: CloudEvent, pseudonym: str, decisions: list[Decision], now: datetime) -> None:
        key = pseudonym.encode()
        forwarded = [d for d in decisions if d.forwarded]
        for decision in forwarded:
            await self._producer.send(deliveries_topic(decision.recipient), event.to_json(), key=key)
        if forwarded:
            shared = ForwardedEvent(
                event=event,
                parties=[event.principal, *(d.recipient for d in forwarded)],
                consent_ids=sorted({str(d.consent_id) for d in forwarded if d.consent_id}),
                decided_at=now,
            )
            await self._producer.send(SHARED_EVENTS, shared.model_dump_json().encode(), key=key)
        for decision in decisions:
            record = _decision_record(event, pseudonym, decision, now)
            await self._producer.send(GATE_DECISIONS, record.model_dump_json().encode(), key=key)
        log.info(
            "event decided",
            extra={
                "event_id": event.id,
                "event_type": event.type,
                "sender": event.principal,
                "person": pseudonym[:16],
                "forwarded_to": [d.recipient for d in forwarded],
                "withheld": {d.recipient or "-": d.reason for d in decisions if not d.forwarded},
            },
        )

    async def _rewind(self, partitions: list[TopicPartition]) -> None:
        assigned = self._consumer.assignment()
        owned = [tp for tp in partitions if tp in assigned]
        if owned:
            await self._consumer.seek_to_committed(*owned)


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
    return GateDecision(
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
