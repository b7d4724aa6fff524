"""Kafka plumbing shared by the services: clients, readiness, dead letters."""

import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream.kafka import KafkaBroker

from contracts import DeadLetter

MAX_DEAD_LETTER_VALUE = 64 * 1024


async def kafka_ready(producer: AIOKafkaProducer) -> bool:
    """True when the broker answers a metadata request."""
    metadata = await producer.client.fetch_all_metadata()
    return bool(metadata.brokers())


def dead_letter(record: ConsumerRecord, consumer: str, reason: str) -> DeadLetter:
    value = (record.value or b"")[:MAX_DEAD_LETTER_VALUE]
    return DeadLetter(
        origin_topic=record.topic,
        origin_partition=record.partition,
        origin_offset=record.offset,
        consumer=consumer,
        reason=reason,
        key=record.key.decode(errors="replace") if record.key else None,
        value=value.decode(errors="replace"),
        failed_at=datetime.now(UTC),
    )


def kafka_broker(bootstrap: str, client_id: str, **options) -> KafkaBroker:
    """A FastStream broker whose logs go through the service's JSON logging."""
    return KafkaBroker(bootstrap, client_id=client_id, logger=logging.getLogger(f"faststream.{client_id}"), **options)
