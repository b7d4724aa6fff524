"""Rebuild the board from the beginning of its topics: the same board, from what crossed the gate.

    python -m services.board.rebuild [--workers N]     # with the board service stopped

Empties the board's tables, reads consent.changes and then shared.events from their first
records up to their ends at the start of each topic's turn (read_committed), applies them with
the same code the running board uses, and sets the board's consumer groups to those ends, so a
board started afterwards goes on from there. Stop the board first: its consumers and the
rebuild must not write at the same time. Reads the board's settings (BoardSettings: the same
SAMORDNA_* environment) and feeds the store through the same `projection_feed` as the board.

Consents are applied before events, so an event held only by consents since ended is dropped
whatever order the live board once read them in, as it is live. Records whose keys have been
erased (services/consent/erasure.py) open to nothing and are skipped: a rebuild restores nothing
of a person who has left. The counts are the records read, opened or not.

`--workers` processes (by default one per core, but at most one per 10 000 records to read) share
each topic's partitions, the way board replicas share them live: a person's records are all in
one partition, in their order, and the store locks per person, so processes that hold different
partitions never touch the same person. Opening and validating records is most of a rebuild's
work (docs/performance.md), and one Python process does it on one core. The groups' offsets are
committed once every worker of a topic has applied its share; a rebuild that fails commits
nothing and is simply run again.
"""

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts.topics import CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS, PER_PERSON_PARTITIONS, SHARED_EVENTS
from services.board.bootstrap import projection_feed
from services.board.consumers import GROUPS, Feed, sealed_record
from services.board.settings import BoardSettings
from services.runtime.kafka import client_options
from services.runtime.serve import load_settings

PARTITIONS = {CONSENT_CHANGES: CONSENT_CHANGES_PARTITIONS, SHARED_EVENTS: PER_PERSON_PARTITIONS}
RECORDS_PER_WORKER = 10_000  # fewer records to read than this per worker: fewer workers
Ends = dict[TopicPartition, int]  # a partition and the offset to read it up to (not included)


@dataclass(frozen=True)
class Replayed:
    records: int  # read and applied (opened or not)
    workers: int  # the processes that shared the topic's partitions


async def rebuild(settings: BoardSettings, workers: int | None = None) -> dict[str, Replayed]:
    async with projection_feed(settings) as feed:
        await feed.store.forget_everything()
    return {topic: await replay_topic(settings, topic, workers) for topic in (CONSENT_CHANGES, SHARED_EVENTS)}


async def replay_topic(settings: BoardSettings, topic: str, workers: int | None = None) -> Replayed:
    """Every record of `topic` up to its end as of now applied, by `workers` processes (1: this
    one; None: one per core, at most one per RECORDS_PER_WORKER); then the end committed for
    the board's group."""
    consumer = _consumer(settings, topic)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS[topic])]
        consumer.assign(partitions)  # to commit them (a consumer commits what it is assigned) ...
        consumer.pause(*partitions)  # ... without fetching them: the workers read
        ends = await consumer.end_offsets(partitions)
        if workers is None:
            # a worker starts in a second or two of CPU (imports, connections): worth it for many records only
            pending = sum(ends.values()) - sum((await consumer.beginning_offsets(partitions)).values())
            workers = max(1, min(os.cpu_count() or 1, pending // RECORDS_PER_WORKER))
        shares = [share for share in _shares(ends, workers) if share]
        if len(shares) == 1:
            applied = await replay_share(settings, topic, shares[0])
        else:
            loop = asyncio.get_running_loop()
            # spawn, not fork: a forked child would inherit this process's event loop and connections
            with ProcessPoolExecutor(len(shares), mp_context=get_context("spawn")) as pool:
                done = [loop.run_in_executor(pool, _replay_share_in_process, settings, topic, s) for s in shares]
                applied = sum(await asyncio.gather(*done))
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()
    return Replayed(applied, len(shares))


def _shares(ends: Ends, workers: int) -> list[Ends]:
    """The partitions dealt out to `workers`, each partition whole to one of them."""
    ordered = sorted(ends.items(), key=lambda item: item[0].partition)
    return [dict(ordered[k :: max(workers, 1)]) for k in range(max(workers, 1))]


def _replay_share_in_process(settings: BoardSettings, topic: str, ends: Ends) -> int:
    """A worker process's part: its own connections, its partitions."""
    return asyncio.run(replay_share(settings, topic, ends))


async def replay_share(settings: BoardSettings, topic: str, ends: Ends) -> int:
    async with projection_feed(settings) as feed:
        return await _replay(settings, ends, _apply_of(feed, topic))


def _apply_of(feed: Feed, topic: str) -> Callable[[list], Awaitable[None]]:
    return feed.consents if topic == CONSENT_CHANGES else feed.events


async def _replay(settings: BoardSettings, ends: Ends, apply: Callable[[list], Awaitable[None]]) -> int:
    """Apply every record of the partitions of `ends` from their beginning up to those ends.

    A record that does not parse was dead-lettered by the live board; it is skipped here too."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    applied = 0
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            # one apply (one transaction) for the whole fetch: a person's records are in one partition,
            # in their order, so nothing of a person's order changes when partitions are applied together
            items = [_parsed(r.value) for tp, records in batch.items() for r in records if r.offset < ends[tp]]
            items = [item for item in items if item is not None]
            if items:
                await apply(items)
            applied += len(items)
    finally:
        await consumer.stop()
    return applied


def _consumer(settings: BoardSettings, topic: str) -> AIOKafkaConsumer:
    """The board's group for `topic`, to read the ends and commit them (it joins no group: assign only).
    read_committed: an end is then the last stable offset, not a record of a transaction still open
    (the gate may be writing), which the workers, reading committed records only, would wait for."""
    return AIOKafkaConsumer(
        **client_options(settings), group_id=GROUPS[topic], enable_auto_commit=False, isolation_level="read_committed"
    )


def _parsed(value: bytes | None):
    try:
        return sealed_record(value or b"")
    except ValueError:  # pydantic's ValidationError and InvalidEvent are ValueErrors
        return None


def workers_argument(text: str) -> int:
    """A --workers value: a whole number from 1 to 64, or an error naming what was given."""
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers must be a whole number, not {text!r}") from None
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"--workers must be from 1 to 64, not {workers}")
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.board.rebuild",
        description=__doc__.split("\n\n")[0] + " Stop the board service first.",
    )
    parser.add_argument(
        "--workers", type=workers_argument,
        help=f"processes that share each topic's partitions (default: one per core, {os.cpu_count()} here, "
        "but at most one per 10 000 records of the topic)",
    )  # fmt: skip
    args = parser.parse_args()
    replayed = asyncio.run(rebuild(load_settings(BoardSettings), args.workers))
    print(", ".join(f"{topic}: {r.records} records applied ({_processes(r.workers)})" for topic, r in replayed.items()))


def _processes(workers: int) -> str:
    return "in this process" if workers == 1 else f"by {workers} worker processes"


if __name__ == "__main__":
    main()
