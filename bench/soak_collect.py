"""After the soak: read what the system holds into the History — every inbox (over the gateways'
HTTP API), the deliveries topics (as the administrator, read_committed, from the beginning) and
the audit (the consent service's table in PostgreSQL, every row)."""

import asyncio
import json
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.soak_history import Decision, Delivery, History, InboxItem
from contracts.topics import DELIVERY_SEQ_HEADER, deliveries_topic
from deploy.stack import Stack
from tests.support.client import StackClient

READ_TIMEOUT = 120


async def inboxes(client: StackClient, principals: list[str]) -> list[InboxItem]:
    return [
        InboxItem(principal, item["event"]["id"], item["seq"])
        for principal in principals
        for item in await client.inbox_items(principal)
    ]


async def deliveries(stack: Stack, principals: list[str]) -> list[Delivery]:
    found: list[Delivery] = []
    for principal in principals:
        topic = deliveries_topic(principal)
        consumer = AIOKafkaConsumer(**stack.kafka_options(), isolation_level="read_committed", enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + READ_TIMEOUT
            # The high watermark counts transaction markers too, which are never returned as records:
            # the position passes them, so "position >= end" is the test, not a record count.
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                if loop.time() > deadline:
                    raise TimeoutError(f"{topic} was not read to its end within {READ_TIMEOUT} s")
                batch = await consumer.getmany(timeout_ms=1000)
                found += [_delivery(principal, r) for records in batch.values() for r in records]
        finally:
            await consumer.stop()
    return found


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    for _ in range(50):
        if partitions := consumer.partitions_for_topic(topic):
            return sorted(partitions)
        await consumer._client.force_metadata_update()  # aiokafka learns a topic only when asked
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no metadata for {topic}")


def _delivery(recipient: str, record) -> Delivery:
    headers = dict(record.headers or ())
    seq = headers.get(DELIVERY_SEQ_HEADER)
    return Delivery(recipient, json.loads(record.value)["id"], int(seq) if seq else None)


async def audit(stack: Stack) -> list[Decision]:
    conn = await asyncpg.connect(stack.dsn, server_settings={"search_path": "consent"})
    try:
        rows = await conn.fetch(
            """SELECT event_id, recipient, forwarded, reason, consent_id::text AS consent_id,
                      extract(epoch FROM decided_at)::float8 AS decided_at
               FROM audit ORDER BY seq"""
        )
    finally:
        await conn.close()
    return [Decision(**dict(row)) for row in rows]


async def collect(stack: Stack, client: StackClient, history: History, principals: list[str]) -> None:
    history.inboxes = await inboxes(client, principals)
    history.deliveries = await deliveries(stack, principals)
    history.decisions = await audit(stack)
    history.collected_at = time.time()
