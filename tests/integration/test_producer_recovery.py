"""Producers left unusable by the broker are rebuilt, on the real broker.

Each test puts a producer into the state aiokafka leaves it in after an outage, deterministically,
and checks the real broker's answer first — so the test fails on code that keeps the producer:
- a sequence gap: aiokafka gives a batch that expires while a partition has no leader a sequence
  number and drops it (`MessageAccumulator.drain_by_nodes`), so every later batch of that
  partition is refused with OutOfOrderSequenceNumber. We take the numbers the same way.
- a fenced transactional producer: another producer with the gate's transactional id bumps the
  epoch, and the gate's next transaction fails with ProducerFenced for good.
"""

import asyncio
import json
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import OutOfOrderSequenceNumber

from services.runtime.metrics import PRODUCER_REBUILDS
from services.runtime.outbox import Relay
from services.runtime.producers import RecoveringProducer
from tests.support.client import StackClient, event, eventually
from tests.support.kafka import create_topic
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
OUTBOX = """CREATE TABLE outbox (
    seq bigserial PRIMARY KEY, event text NOT NULL, kafka_key text NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)"""


@pytest.fixture
async def outbox(infra):
    schema = f"relay_{uuid.uuid4().hex}"
    conn = await asyncpg.connect(infra.dsn)
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.close()
    pool = await asyncpg.create_pool(infra.dsn, server_settings={"search_path": schema}, min_size=1, max_size=2)
    await pool.execute(OUTBOX)
    yield pool
    await pool.close()


async def _add(pool: asyncpg.Pool, keys: list[str]) -> list[str]:
    ids = [uuid.uuid4().hex for _ in keys]
    await pool.executemany(
        "INSERT INTO outbox (event, kafka_key) VALUES ($1, $2)",
        [(json.dumps({"id": i}), k) for i, k in zip(ids, keys, strict=True)],
    )
    return ids


async def _ids_on(kafka: dict, topic: str, expected: int, timeout: float = 60) -> list[str]:
    consumer = AIOKafkaConsumer(topic, **kafka, group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest")
    await consumer.start()
    found: list[str] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [json.loads(r.value)["id"] for records in batch.values() for r in records]
        return found
    finally:
        await consumer.stop()


async def test_a_relay_whose_producer_has_a_sequence_gap_rebuilds_it_and_loses_nothing(infra, outbox):
    kafka = infra.kafka_options()
    topic = f"test.relay.{uuid.uuid4().hex}"
    await create_topic(kafka, topic)
    producer = RecoveringProducer(f"test-relay-{topic}", lambda: AIOKafkaProducer(**kafka, enable_idempotence=True))
    relay = Relay(outbox, producer, "outbox", topic, "accepted_at")
    before = await _add(outbox, ["a", "b", "a"])
    task = asyncio.create_task(relay.run())
    try:
        await eventually(relay.backlog, lambda n: n == 0, timeout=30)

        wedged = await producer.get()
        wedged._txn_manager.increment_sequence_number(TopicPartition(topic, 0), 3)  # what an expired batch does
        for _ in range(2):  # the broker refuses, and the producer does not get over it by itself
            with pytest.raises(OutOfOrderSequenceNumber):
                await wedged.send_and_wait(topic, b'{"id": "probe"}', key=b"probe")

        after = await _add(outbox, ["a", "c", "b", "a"])
        relay.notify()
        await eventually(relay.backlog, lambda n: n == 0, timeout=60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()

    assert await producer.get() is not wedged
    await producer.stop()
    on_topic = [i for i in await _ids_on(kafka, topic, len(before + after)) if i != "probe"]
    assert on_topic == before + after, "every row once, in order (one partition)"
    assert PRODUCER_REBUILDS.labels(f"test-relay-{topic}")._value.get() >= 1


async def test_a_fenced_gate_rebuilds_its_transactional_producer_and_goes_on_deciding(running_stack):
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    await client.grant(REGION, person, [REGION, ALINGSAS])
    first = event(VISIT_MISSED, person)
    assert (await client.post_event(REGION, first)).status_code == 202
    await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: first["id"] in ids, timeout=60)

    # Another producer with the gate's transactional id: the gate's producer is fenced.
    intruder = AIOKafkaProducer(**running_stack.kafka_options(), transactional_id="samordna-gate-0")
    await intruder.start()
    await intruder.stop()

    later = [event(VISIT_MISSED, person) for _ in range(5)]
    for body in later:
        assert (await client.post_event(REGION, body)).status_code == 202
    ids = await eventually(
        lambda: client.inbox_ids(ALINGSAS), lambda ids: {b["id"] for b in later} <= set(ids), timeout=90
    )
    assert all(ids.count(b["id"]) == 1 for b in later)
    metrics = (await client.http.get(f"{running_stack.url('consent')}/metrics")).text
    assert 'samordna_producer_rebuilds_total{producer="gate"}' in metrics
    await client.close()
