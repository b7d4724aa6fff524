"""Reading and writing the test broker directly, as a partner system speaking Kafka would.

`kafka` is a dict of aiokafka connection options: `stack.kafka_options(user)` connects as that
Kafka user (the administrator by default)."""

import asyncio
import json
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.topics import dead_letters_for


async def create_topic(kafka: dict, topic: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


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
