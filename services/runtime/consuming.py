"""Batch consumers that commit only after their handler's writes are durable.

Records that cannot be decoded or validated go to a dead-letter topic with the reason (the
origin topic's owner's, contracts/topics.py), and the consumer goes on. So do records that
parse but that the handler cannot store (a data error: text PostgreSQL refuses, a value out
of range): after a data error the batch is handled again record by record, and whatever
still fails with a data error is dead-lettered — without that, one such record would make
the consumer re-read its batch for ever. Anything else a handler raises (the database is
down, say) makes FastStream seek back, so the batch is read again: handlers must be idempotent.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from itertools import chain
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from pydantic import ValidationError

from contracts import InvalidEvent, kafka_binding
from contracts.topics import dead_letters_for
from services.runtime.kafka import dead_letter
from services.runtime.metrics import CONSUMER_RESTARTS, DEAD_LETTERS, OldestUncommitted

T = TypeVar("T")
log = logging.getLogger(__name__)

# How long a batch subscriber waits for a first record. aiokafka's `getmany` answers as soon as a
# record arrives, so a long wait costs a lone event nothing; FastStream's batch subscriber, though,
# when a wait ends with nothing, *sleeps* that long again before it asks once more (its `get_msg`),
# and a record arriving in that sleep waits for it: with FastStream's 200 ms a lone event reached the
# recipient's inbox up to 200 ms late, which is why this was 20 ms, at fifty wake-ups a second per
# idle subscriber (about 8 ms of CPU a second for a gateway's two). The consumers made here ask with
# `_next_batch` instead, which sleeps only after an answer that came early and empty (a rebalance),
# so the wait can be long: two wake-ups a second when idle, and no sleep for a record to meet
# (docs/performance.md).
POLL_MS = 500

# Errors that say "this record cannot be stored", whenever it is tried: SQLSTATE class 22 (and
# asyncpg's own refusals to encode an argument, which it raises as DataError), NOT NULL and
# CHECK violations, and the ValueErrors of Python's own conversions (UnicodeEncodeError,
# "year 10000 is out of range"). A lost connection or a unique violation from a rebalance is
# none of these: the batch is read again.
DATA_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.DataError,
    asyncpg.NotNullViolationError,
    asyncpg.CheckViolationError,
    ValueError,
    OverflowError,
)


def describe(exc: Exception) -> str:
    """Why a record was refused, naming fields but never echoing their values."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, InvalidEvent):
        return str(exc)
    return f"{type(exc).__name__}: undecodable record"


def describe_unstorable(exc: Exception) -> str:
    """Why a parsed record could not be stored. Only the error's class and SQLSTATE: the
    database's and asyncpg's messages quote the offending value, which may be personal data."""
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{f' (SQLSTATE {sqlstate})' if sqlstate else ''}: the record could not be stored"


def from_value(parse: Callable[[bytes], T]) -> Callable[[ConsumerRecord], T]:
    """A record parser that looks at the record's value only (most do)."""
    return lambda record: parse(record.value or b"")


async def _records(message: KafkaMessage) -> object:
    """The batch's raw records, as the handler's one argument. FastStream would decode each value by
    its content-type header before the handler runs, and a record that says application/json but is
    not JSON would fail the batch again and again (a poison record): `parse` reads the raw records
    instead, and refuses such a one to dead letters. And a handler that asked for the message
    itself (`message: KafkaMessage`, a FastStream Context field) would have it looked up in a worker
    thread for every batch: fast_depends runs the field's synchronous lookup through anyio's thread
    pool, about a tenth of a recipient gateway's CPU at 20 events/s (docs/performance.md)."""
    return message.raw_message


def batch_consumer(
    broker: KafkaBroker,
    topic: str,
    group_id: str,
    parse: Callable[[ConsumerRecord], T],
    handle: Callable[[list[T]], Awaitable[None]],
    max_records: int = 500,
) -> None:
    """Subscribe `handle` to `topic`: parsed records in, dead letters out, offsets after both."""
    oldest = OldestUncommitted(group_id)

    subscriber = broker.subscriber(
        topic,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=POLL_MS,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_records,
    )
    subscriber.get_msg = functools.partial(_next_batch, subscriber)

    @subscriber
    async def consume(records: Any) -> None:  # a tuple of ConsumerRecord (_records); Any: not validated again
        if records:
            oldest.holding(topic, min(record.timestamp for record in records))
        parsed, refused = [], []
        for record in records:
            try:
                parsed.append((record, parse(record)))
            except (ValidationError, ValueError, UnicodeDecodeError) as exc:
                refused.append((record, describe(exc)))
        refused += await handle_isolating(handle, parsed, topic)
        for record, reason in refused:
            await _send_to_dead_letters(broker, record, group_id, reason)
        oldest.committed(topic)  # FastStream commits as soon as this returns


async def _next_batch(subscriber: BatchSubscriber, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord, ...]:
    """FastStream's `BatchSubscriber.get_msg` without its sleep after a full, empty wait (POLL_MS
    above). An empty answer that came before the wait was up (aiokafka gives one when the
    assignment changes) is followed by the rest of the wait, so that nothing spins."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    batches = await consumer.getmany(timeout_ms=subscriber.batch_timeout_ms, max_records=subscriber.max_records)
    if not batches:
        if (left := subscriber.batch_timeout_ms / 1000 - (loop.time() - started)) > 0.001:
            await asyncio.sleep(left)
        return ()
    return tuple(chain.from_iterable(batches.values()))


async def handle_isolating(
    handle: Callable[[list[T]], Awaitable[None]], parsed: list[tuple[ConsumerRecord, T]], topic: str = ""
) -> list[tuple[ConsumerRecord, str]]:
    """Handle the batch; after a data error, each record alone, in order. Returns the records
    that failed with a data error and why; any other error is raised (the batch is read again,
    and the records handled alone before it are handled again: handlers are idempotent)."""
    if not parsed:
        return []
    try:
        await handle([item for _, item in parsed])
        return []
    except DATA_ERRORS as exc:
        log.warning(
            "a batch could not be stored; handling its records one by one",
            extra={"topic": topic, "records": len(parsed), "error": type(exc).__name__},
        )
    unstorable = []
    for record, item in parsed:
        try:
            await handle([item])
        except DATA_ERRORS as exc:
            unstorable.append((record, describe_unstorable(exc)))
    return unstorable


async def _send_to_dead_letters(broker: KafkaBroker, record: ConsumerRecord, consumer: str, reason: str) -> None:
    letter = dead_letter(record, consumer, reason)
    headers = {name: value.decode() for name, value in kafka_binding.dead_letter_headers(letter)}
    await broker.publish(
        letter.model_dump_json().encode(), dead_letters_for(record.topic), key=record.key, headers=headers
    )
    DEAD_LETTERS.labels(consumer, record.topic).inc()


def coordination_ended(consumer: object) -> bool:
    """aiokafka's consumer has lost its group for good: its coordination task ended (an error it
    did not expect, e.g. aio-libs/aiokafka#1038), and from then on every fetch fails with
    "Unexpected error during coordination". Only a new consumer gets over it. (aiokafka has no
    public way to ask; these are the attributes of its GroupCoordinator.)"""
    coordinator = getattr(consumer, "_coordinator", None)
    task = getattr(coordinator, "_coordination_task", None)
    return task is not None and task.done()


async def restart_dead_consumers(broker: KafkaBroker, every: float = 5.0) -> None:
    """Start again every subscriber of `broker` whose consumer lost its group (FastStream would
    log "Kafka error occurred" every 5 s for ever). It resumes from its committed offsets."""
    while True:
        await asyncio.sleep(every)
        for subscriber in broker.subscribers:
            if not coordination_ended(getattr(subscriber, "consumer", None)):
                continue
            group = getattr(subscriber, "group_id", None) or "-"
            log.warning("a Kafka consumer lost its group for good; starting it again", extra={"group": group})
            CONSUMER_RESTARTS.labels(group).inc()
            try:
                await subscriber.stop()
                await subscriber.start()
            except Exception as exc:  # the broker is away: the next round tries again
                log.warning("a Kafka consumer could not be started again", extra={"group": group, "error": repr(exc)})
