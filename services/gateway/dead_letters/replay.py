"""Dead letters put back once their cause is fixed: events on their origin topic, deliveries
into the inbox (the gateway may not write its deliveries topic: only the gate does)."""

from datetime import timedelta

from aiokafka import AIOKafkaProducer

from contracts import kafka_binding, parse_event
from contracts.topics import deliveries_topic
from services.gateway.dead_letters.store import PgDeadLetters
from services.gateway.inbox import Delivered, store_delivered
from services.runtime.consuming import describe


async def replay(
    letters: PgDeadLetters,
    producer: AIOKafkaProducer,
    ids: list[int] | None,
    principal: str,
    deadlines: dict[str, timedelta],
) -> tuple[list[int], dict[int, str]]:
    """Put open dead letters (these ids, or all with None) back. Returns the ids replayed, and the
    ids refused again with why (a delivery that still does not validate stays open)."""
    replayed, refused = [], {}
    for row in await letters.open_letters(ids):
        if row["origin_topic"] == deliveries_topic(principal):
            try:
                delivered = Delivered(parse_event(row["value"].encode()), None)
            except ValueError as exc:
                refused[row["id"]] = describe(exc)
                continue
            async with letters.pool.acquire() as conn:
                await store_delivered(conn, [delivered], deadlines)
        else:
            key = row["kafka_key"].encode() if row["kafka_key"] else None
            # back to its events topic, where every record is a CloudEvent in structured mode
            headers = list(kafka_binding.structured())
            await producer.send_and_wait(row["origin_topic"], row["value"].encode(), key=key, headers=headers)
        await letters.mark_replayed(row["id"])
        replayed.append(row["id"])
    return replayed, refused
