"""Rebuild the board from the beginning of its topics: the same board, from what crossed the gate.

    python -m services.board.rebuild            # with the board service stopped

Empties the board's tables, reads consent.changes and then shared.events from their first
records up to their ends at the start of the run (read_committed), applies them with the
same code the running board uses, and sets the board's consumer groups to those ends, so a
board started afterwards goes on from there. Stop the board first: its consumers and the
rebuild must not write at the same time. Reads the board's settings (BoardSettings: the same
SAMORDNA_* environment) and feeds the store through the same `projection_feed` as the board.

Consents are applied before events, so an event held only by consents since ended is dropped
whatever order the live board once read them in, as it is live. Records whose keys have been
erased (services/consent/erasure.py) open to nothing and are skipped: a rebuild restores nothing
of a person who has left. The counts are the records read, opened or not.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts.topics import CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS, PER_PERSON_PARTITIONS, SHARED_EVENTS
from services.board.bootstrap import projection_feed
from services.board.consumers import GROUPS, sealed_record
from services.board.settings import BoardSettings
from services.runtime.kafka import client_options
from services.runtime.serve import load_settings

PARTITIONS = {CONSENT_CHANGES: CONSENT_CHANGES_PARTITIONS, SHARED_EVENTS: PER_PERSON_PARTITIONS}


async def rebuild(settings: BoardSettings) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with projection_feed(settings) as feed:
        await feed.store.forget_everything()
        kafka = client_options(settings)
        counts[CONSENT_CHANGES] = await _replay(kafka, CONSENT_CHANGES, sealed_record, feed.consents)
        counts[SHARED_EVENTS] = await _replay(kafka, SHARED_EVENTS, sealed_record, feed.events)
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
            # one apply (one transaction) for the whole fetch: a person's records are in one partition,
            # in their order, so nothing of a person's order changes when partitions are applied together
            items = [_parsed(parse, r.value) for tp, records in batch.items() for r in records if r.offset < ends[tp]]
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
    # no options: but `--help` answers, and nothing else is mistaken for a request to rebuild
    argparse.ArgumentParser(
        prog="python -m services.board.rebuild",
        description=__doc__.split("\n\n")[0] + " Stop the board service first.",
    ).parse_args()
    counts = asyncio.run(rebuild(load_settings(BoardSettings)))
    print(", ".join(f"{topic}: {n} records applied" for topic, n in counts.items()))


if __name__ == "__main__":
    main()
