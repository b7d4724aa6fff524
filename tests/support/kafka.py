"""Reading and writing the test broker directly, as a partner system speaking Kafka would.

`kafka` is a dict of aiokafka connection options: `stack.kafka_options(user)` connects as that
Kafka user (the administrator by default)."""

import asyncio
import json
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from contracts import ForwardedEvent
from contracts.topics import dead_letters_for
from services.runtime.consuming import batch_consumer, from_value
from services.runtime.kafka import kafka_broker


async def create_topic(kafka: dict, topic: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


@dataclass
class Collecting:
    """A batch consumer of forwarded events on a topic of its own: what it handled, and `done` set
    once it handled a batch. The broker is not started: the test does that (`async with broker`)."""

    topic: str
    broker: KafkaBroker
    handled: list[ForwardedEvent] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def collecting_consumer(infra, prefix: str) -> Collecting:
    """A new topic `<prefix>.<uuid>` and a batch consumer of it (services/runtime/consuming.py)
    that collects the forwarded events it parses; what it cannot parse it dead-letters."""
    topic = f"{prefix}.{uuid.uuid4().hex}"
    await create_topic(infra.kafka_options(), topic)
    collecting = Collecting(topic, kafka_broker(infra.kafka_settings(), "test"))

    async def handle(items):
        collecting.handled.extend(items)
        collecting.done.set()

    parse = from_value(ForwardedEvent.model_validate_json)
    batch_consumer(collecting.broker, topic, f"test-{uuid.uuid4().hex}", parse, handle)
    return collecting


async def produce(kafka: dict, topic: str, *values: bytes, key: bytes = b"test") -> None:
    producer = AIOKafkaProducer(**kafka)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def find_records(kafka: dict, topic: str, match, timeout: float = 30) -> list[dict]:
    """JSON records on `topic` (from the beginning) for which `match(record)` is true, once any appear."""

    def matching(record) -> bool:
        value = _json(record)
        return value is not None and match(value)

    return [_json(r) for r in await find_raw_records(kafka, topic, matching, timeout)]


async def find_raw_records(kafka: dict, topic: str, match, timeout: float = 30) -> list:
    """The records themselves (key, value, headers) on `topic`, from the beginning, for which
    `match(record)` is true, once any appear."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka,
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    found: list = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not found and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for records in batch.values() for r in records if match(r)]
        return found
    finally:
        await consumer.stop()


async def dead_letters_from(kafka: dict, origin_topic: str, marker: str, timeout: float = 30) -> list[dict]:
    def ours(letter: dict) -> bool:
        return letter["origin_topic"] == origin_topic and marker in letter["value"]

    return await find_records(kafka, dead_letters_for(origin_topic), ours, timeout)


def _json(record) -> dict | None:
    try:
        return json.loads(record.value)
    except (TypeError, ValueError):
        return None
