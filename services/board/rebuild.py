"""Rebuild the board from the beginning of its topics: the same board, from what crossed the gate.

    python -m services.board.rebuild            # with the board service stopped

Empties the board's tables, reads consent.changes and then shared.events from their first
records up to their ends at the start of the run (read_committed), applies them with the
same code the running board uses, and sets the board's consumer groups to those ends, so a
board started afterwards goes on from there. Stop the board first: its consumers and the
rebuild must not write at the same time. Reads SAMORDNA_DATABASE_URL, SAMORDNA_KAFKA_BOOTSTRAP
and SAMORDNA_PSEUDONYM_SECRET like the board does.

Consents are applied before events, so an event that crossed on a consent since revoked is
dropped whatever order the live board once read them in; the revocation forgets what crossed
before it (decided_at), as it does live.
"""

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts import ForwardedEvent, parse_event
from contracts.topics import CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS, PER_PERSON_PARTITIONS, SHARED_EVENTS
from services.board import store
from services.board.app import GROUP_ID, SCHEMA_SQL
from services.board.settings import BoardSettings
from services.runtime.db import create_pool
from services.runtime.kafka import client_options
from services.runtime.pseudonym import Pseudonymizer

GROUPS = {CONSENT_CHANGES: f"{GROUP_ID}-consents", SHARED_EVENTS: GROUP_ID}
PARTITIONS = {CONSENT_CHANGES: CONSENT_CHANGES_PARTITIONS, SHARED_EVENTS: PER_PERSON_PARTITIONS}


async def rebuild(settings: BoardSettings) -> dict[str, int]:
    pool = await create_pool(settings.database_url, settings.db_schema, SCHEMA_SQL, min_size=1, max_size=2)
    pseudonyms = Pseudonymizer(settings.pseudonym_key)
    counts: dict[str, int] = {}
    try:
        await pool.execute("TRUNCATE events, consents, revoked_consents")

        async def consents(changes: list) -> None:
            async with pool.acquire() as conn:
                await store.apply_consent_changes(conn, pseudonyms, changes)

        async def events(items: list) -> None:
            async with pool.acquire() as conn:
                await store.record_forwarded(conn, pseudonyms, items)

        counts[CONSENT_CHANGES] = await _replay(client_options(settings), CONSENT_CHANGES, parse_event, consents)
        counts[SHARED_EVENTS] = await _replay(
            client_options(settings), SHARED_EVENTS, ForwardedEvent.model_validate_json, events
        )
    finally:
        await pool.close()
    return counts


async def _replay(kafka: dict, topic: str, parse: Callable, apply: Callable[[list], Awaitable[None]]) -> int:
    """Apply every record from the beginning to the end as of now; then commit the end for the board's group.

    A record that does not parse was dead-lettered by the live board; it is skipped here too."""
    consumer = AIOKafkaConsumer(
        **kafka,
        group_id=GROUPS[topic],
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    applied = 0
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS[topic])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for tp, records in batch.items():
                items = [_parsed(parse, r.value) for r in records if r.offset < ends[tp]]
                items = [item for item in items if item is not None]
                if items:
                    await apply(items)
                applied += len(items)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()
    return applied


def _parsed(parse: Callable, value: bytes | None):
    try:
        return parse(value or b"")
    except ValueError:  # pydantic's ValidationError and InvalidEvent are ValueErrors
        return None


def main() -> None:
    counts = asyncio.run(rebuild(BoardSettings()))
    print(", ".join(f"{topic}: {n} records applied" for topic, n in counts.items()))


if __name__ == "__main__":
    main()
