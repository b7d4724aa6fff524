"""Batch consumers that commit only after their handler's writes are durable.

Records that cannot be decoded or validated go to a dead-letter topic with the reason (the
origin topic's owner's, contracts/topics.py), and the consumer goes on. Anything else a
handler raises (the database is down, say) makes FastStream seek back, so the batch is read
again: handlers must be idempotent.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from contracts import InvalidEvent
from contracts.topics import dead_letters_for
from services.runtime.kafka import dead_letter
from services.runtime.metrics import DEAD_LETTERS

T = TypeVar("T")


def describe(exc: Exception) -> str:
    """Why a record was refused, naming fields but never echoing their values."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, InvalidEvent):
        return str(exc)
    return f"{type(exc).__name__}: undecodable record"


def from_value(parse: Callable[[bytes], T]) -> Callable[[ConsumerRecord], T]:
    """A record parser that looks at the record's value only (most do)."""
    return lambda record: parse(record.value or b"")


def batch_consumer(
    broker: KafkaBroker,
    topic: str,
    group_id: str,
    parse: Callable[[ConsumerRecord], T],
    handle: Callable[[list[T]], Awaitable[None]],
    max_records: int = 500,
) -> None:
    """Subscribe `handle` to `topic`: parsed records in, dead letters out, offsets after both."""

    @broker.subscriber(
        topic,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def consume(message: KafkaMessage) -> None:
        parsed, refused = [], []
        for record in message.raw_message:
            try:
                parsed.append(parse(record))
            except (ValidationError, ValueError, UnicodeDecodeError) as exc:
                refused.append((record, describe(exc)))
        if parsed:
            await handle(parsed)
        for record, reason in refused:
            await _send_to_dead_letters(broker, record, group_id, reason)


async def _send_to_dead_letters(broker: KafkaBroker, record: ConsumerRecord, consumer: str, reason: str) -> None:
    letter = dead_letter(record, consumer, reason)
    await broker.publish(letter.model_dump_json().encode(), dead_letters_for(record.topic), key=record.key)
    DEAD_LETTERS.labels(consumer, record.topic).inc()
