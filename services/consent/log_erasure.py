"""Erasure from the topics that hold persons in the clear, once their readers have taken it.

`shared.events` and `consent.changes` are sealed, and erased by deleting keys (erasure.py). The
other topics that hold a person hold them in the clear, for their readers:

- `events.<p>`: the gate (`samordna-gate`);
- `deliveries.<p>`: the recipient's gateway (`samordna-inbox-<p>`), and every group of the
  principal's own systems (`<p>.…`) that has taken any of it;
- `dead.letters.<p>`: the gateway's collector (`samordna-dead-letters-<p>`), and the same groups;
- `gate.decisions`: the audit writer (`samordna-audit`); pseudonymised, but personal data.

A Kafka log cannot lose one person's records; it can lose its beginning (DeleteRecords). So
when keys are erased (`repository.erase_due_keys` marks `log_erasure_due`), a pass notes each
clear partition's present end as its frontier: every record before it must go. Each pass then
deletes, per partition, what every reader has committed past, up to the frontier, and forgets a
frontier once the partition's log starts at or after it. A record a reader has not yet taken
waits for that reader (a stopped gateway, a system of a principal's own that stopped reading):
never longer than the topic's retention (contracts/topics.py), and the wait is on the ops
dashboard (`samordna_log_erasure_waiting_partitions`) and in the log, by group, never by person.

The consent service runs a pass every SAMORDNA_LOG_ERASURE_SECONDS (60). By hand, with the
consent service's settings (its Kafka user and database), a pass and its outcome in JSON:

    python -m services.consent.log_erasure [--until-done --timeout 300]

(exit 0; with --until-done, 1 if records to erase still wait for a reader at the timeout).

The shared `dead.letters` holds records of `shared.events`, `consent.changes` and
`gate.decisions` that no consumer could read: sealed or pseudonymised as they were written.
"""

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from prometheus_client import Gauge

from contracts.topics import (
    DEAD_LETTERS,
    DELIVERIES_PREFIX,
    EVENTS_PREFIX,
    GATE_DECISIONS,
    dead_letters_group,
    inbox_group,
    own_systems_groups,
    owner_of,
)
from services.consent.audit import GROUP_ID as AUDIT_GROUP
from services.consent.gate import GROUP_ID as GATE_GROUP
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.consent.settings import ConsentSettings
from services.runtime.db import create_pool
from services.runtime.kafka import client_options
from services.runtime.serve import load_settings

log = logging.getLogger(__name__)

WAITING = Gauge(
    "samordna_log_erasure_waiting_partitions",
    "Partitions of the clear topics with records to erase that a reader has not yet taken",
)

Partition = tuple[str, int]  # (topic, partition)
VISIBLE_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Readers:
    """Who must have taken a topic's records before they go."""

    required: tuple[str, ...]  # these groups, always (no offset yet: nothing goes)
    own_systems: str | None = None  # and every group with this prefix that has an offset on it


def readers_of(topic: str) -> Readers | None:
    """The readers of a clear topic; None for a topic that holds no one in the clear."""
    if topic == GATE_DECISIONS:
        return Readers((AUDIT_GROUP,))
    owner = owner_of(topic)
    if owner is None:
        return None
    if topic.startswith(EVENTS_PREFIX):
        return Readers((GATE_GROUP,))
    if topic.startswith(DELIVERIES_PREFIX):
        return Readers((inbox_group(owner),), own_systems_groups(owner))
    assert topic.startswith(f"{DEAD_LETTERS}."), topic
    return Readers((dead_letters_group(owner),), own_systems_groups(owner))


def readers_on(partition: Partition, committed: Mapping[str, Mapping[Partition, int]]) -> list[str]:
    """The groups that must have taken the partition's records before they go."""
    readers = readers_of(partition[0])
    if readers is None:
        return []
    own = [g for g, offsets in committed.items() if readers.own_systems and g.startswith(readers.own_systems)]
    return [*readers.required, *sorted(g for g in own if partition in committed[g])]


def least_taken(
    frontier: Mapping[Partition, int], committed: Mapping[str, Mapping[Partition, int]]
) -> dict[Partition, int]:
    """Per partition with a frontier, the least offset its readers have committed (0 when one
    of them has none yet)."""
    return {
        partition: min((committed.get(g, {}).get(partition, 0) for g in readers_on(partition, committed)), default=0)
        for partition in frontier
    }


def cut_points(
    frontier: Mapping[Partition, int], starts: Mapping[Partition, int], next_unread: Mapping[Partition, int]
) -> dict[Partition, int]:
    """Where each partition's log may start now: at the first record a reader has still to take
    (`next_unread`: the first committed data record at or after the least committed offset, so
    that transaction markers and aborted records no reader will ever take do not hold the
    erasure back), and never past the frontier. Only partitions whose log would start later
    than it does are named."""
    points = {p: min(before, next_unread.get(p, 0)) for p, before in frontier.items()}
    return {p: at for p, at in points.items() if at > starts.get(p, 0)}


@dataclass(frozen=True)
class Pass:
    deleted: dict[Partition, int]  # partition -> where its log starts now
    waiting: int  # partitions still holding records to erase
    waiting_on: frozenset[str]  # the groups that hold them


class LogEraser:
    """Runs the passes, as the consent service's own Kafka user (deploy/access.py grants it
    DeleteRecords on the clear topics and a look at their readers' groups)."""

    def __init__(self, pool: asyncpg.Pool, kafka: dict) -> None:
        self.pool = pool
        self.admin = AIOKafkaAdminClient(**kafka)
        self.offsets = AIOKafkaConsumer(**kafka, group_id=None, enable_auto_commit=False)
        self.visible = AIOKafkaConsumer(
            **kafka, group_id=None, enable_auto_commit=False, isolation_level="read_committed", fetch_max_wait_ms=100
        )

    async def start(self) -> None:
        await self.admin.start()
        await self.offsets.start()
        await self.visible.start()

    async def stop(self) -> None:
        await self.visible.stop()
        await self.offsets.stop()
        await self.admin.close()

    async def run(self, interval: float) -> None:
        while True:
            try:
                done = await self.pass_once()
                if done.deleted or done.waiting_on:
                    log.info(
                        "log erasure",
                        extra={"partitions_cut": len(done.deleted), "partitions_waiting": done.waiting,
                               "waiting_on_groups": sorted(done.waiting_on)},
                    )  # fmt: skip
            except Exception as exc:  # the broker or the database away: the next pass resumes
                log.warning("log erasure pass failed; will retry", extra={"error": repr(exc)})
            await asyncio.sleep(interval)

    async def pass_once(self) -> Pass:
        async with self.pool.acquire() as conn:
            seen, frontier = await log_erasure_due(conn), await log_frontier(conn)
            if seen is None and not frontier:
                WAITING.set(0)
                return Pass({}, 0, frozenset())
            topics = set(await self.admin.list_topics())
            if seen is not None:
                ends = await self._clear_partitions(topics)
                starts = await self.offsets.beginning_offsets(list(ends))
                async with conn.transaction():
                    await add_log_frontier(conn, seen, {(tp.topic, tp.partition): end for tp, end in ends.items()
                                                        if end > starts[tp]})  # fmt: skip
                frontier = await log_frontier(conn)
            # a topic deleted since (a principal who left the deployment): nothing to wait for
            await drop_log_frontier(conn, {p: o for p, o in frontier.items() if p[0] not in topics})
            frontier = {p: o for p, o in frontier.items() if p[0] in topics}
            if not frontier:
                WAITING.set(0)
                return Pass({}, 0, frozenset())
            starts = await self._starts(frontier)
            committed = await self._committed(frontier)
            unread = await self._next_unread(least_taken(frontier, committed), frontier)
            delete = cut_points(frontier, starts, unread)
            if delete:
                cut = await self.admin.delete_records(
                    {TopicPartition(*p): RecordsToDelete(before_offset=o) for p, o in delete.items()}
                )
                starts |= {(tp.topic, tp.partition): low for tp, low in cut.items()}
            reached = {p: starts[p] for p, before in frontier.items() if starts.get(p, 0) >= before}
            await drop_log_frontier(conn, reached)
        held = [p for p in frontier if p not in reached]
        waiting_on = {g for p in held for g in readers_on(p, committed) if committed.get(g, {}).get(p, 0) <= starts[p]}
        WAITING.set(len(held))
        return Pass({p: starts[p] for p in delete}, len(held), frozenset(waiting_on))

    async def _clear_partitions(self, topics: set[str]) -> dict[TopicPartition, int]:
        """Every partition of every clear topic among `topics`, with its end offset now."""
        clear = sorted(t for t in topics if readers_of(t) is not None)
        described = await self.admin.describe_topics(clear) if clear else []
        partitions = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
        return await self.offsets.end_offsets(partitions) if partitions else {}

    async def _starts(self, frontier: Mapping[Partition, int]) -> dict[Partition, int]:
        starts = await self.offsets.beginning_offsets([TopicPartition(*p) for p in frontier])
        return {(tp.topic, tp.partition): offset for tp, offset in starts.items()}

    async def _committed(self, frontier: Mapping[Partition, int]) -> dict[str, dict[Partition, int]]:
        """The committed offsets of every group that reads a partition with a frontier."""
        topics = {t for t, _ in frontier}
        wanted = [r for r in map(readers_of, topics) if r]
        required = {g for r in wanted for g in r.required}
        prefixes = tuple({r.own_systems for r in wanted if r.own_systems})
        groups = sorted(
            g for g, *_ in await self.admin.list_consumer_groups() if g in required or g.startswith(prefixes)
        )
        committed: dict[str, dict[Partition, int]] = {}
        for group in groups:
            offsets = await self.admin.list_consumer_group_offsets(group)
            committed[group] = {(tp.topic, tp.partition): o.offset for tp, o in offsets.items() if tp.topic in topics}
        return committed

    async def _next_unread(
        self, least: Mapping[Partition, int], frontier: Mapping[Partition, int]
    ) -> dict[Partition, int]:
        """Per partition, the offset of the first record a read_committed reader would still get
        at or after `least` and before the frontier, or the frontier if there is none: a reader
        whose last commit sits before a transaction's marker, or before records of an aborted
        transaction, has nothing left to take there."""
        todo = {TopicPartition(*p): at for p, at in least.items() if at < frontier[p]}
        found = {p: frontier[p] for p in least}
        if not todo:
            return found
        self.visible.assign(list(todo))
        for tp, at in todo.items():
            self.visible.seek(tp, at)
        deadline = asyncio.get_running_loop().time() + VISIBLE_WAIT_SECONDS
        while todo and asyncio.get_running_loop().time() < deadline:
            batches = await self.visible.getmany(*todo, timeout_ms=200)  # the first of each is enough
            for tp in list(todo):
                before = frontier[(tp.topic, tp.partition)]
                if records := batches.get(tp):
                    found[(tp.topic, tp.partition)] = min(records[0].offset, before)
                    del todo[tp]
                elif await self.visible.position(tp) >= before:
                    del todo[tp]
        for tp, at in todo.items():  # not known in time: as far as the readers committed
            found[(tp.topic, tp.partition)] = at
        self.visible.assign([])
        return found


# ---- the frontier, in the consent service's PostgreSQL (schema.sql) ----------------------


async def log_erasure_due(conn: asyncpg.Connection) -> int | None:
    """How many key erasures the clear topics have not yet been told of (None: none)."""
    return await conn.fetchval("SELECT erasures FROM log_erasure_due")


async def add_log_frontier(conn: asyncpg.Connection, seen: int, frontier: dict[tuple[str, int], int]) -> None:
    """The `seen` erasures turned into a frontier per partition (delete every record before it);
    a frontier only moves on."""
    await conn.execute("DELETE FROM log_erasure_due WHERE erasures = $1", seen)
    await conn.execute(
        """INSERT INTO log_erasure_frontier AS f (topic, partition, before_offset)
           SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
           ON CONFLICT (topic, partition)
           DO UPDATE SET before_offset = GREATEST(f.before_offset, EXCLUDED.before_offset)""",
        *_partition_columns(frontier),
    )


def _partition_columns(offsets: dict[tuple[str, int], int]) -> tuple[list[str], list[int], list[int]]:
    """{(topic, partition): offset} as the three arrays an unnest() reads."""
    rows = sorted(offsets.items())
    return [t for (t, _), _ in rows], [p for (_, p), _ in rows], [o for _, o in rows]


async def log_frontier(conn: asyncpg.Connection) -> dict[tuple[str, int], int]:
    rows = await conn.fetch("SELECT topic, partition, before_offset FROM log_erasure_frontier")
    return {(r["topic"], r["partition"]): r["before_offset"] for r in rows}


async def drop_log_frontier(conn: asyncpg.Connection, reached: dict[tuple[str, int], int]) -> None:
    """Forget the frontiers the partitions' logs now start at or after."""
    if reached:
        await conn.execute(
            """DELETE FROM log_erasure_frontier f USING unnest($1::text[], $2::int[], $3::bigint[]) AS r(t, p, start)
               WHERE f.topic = r.t AND f.partition = r.p AND f.before_offset <= r.start""",
            *_partition_columns(reached),
        )


async def erase_by_hand(settings: ConsentSettings, until_done: bool, timeout: float) -> int:
    pool = await create_pool(
        settings.database_url, settings.db_schema, SCHEMA_SQL, role=APP_ROLE, min_size=1, max_size=2
    )
    eraser = LogEraser(pool, client_options(settings))
    await eraser.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            done = await eraser.pass_once()
            print(json.dumps({"partitions_cut": len(done.deleted), "partitions_waiting": done.waiting,
                              "waiting_on_groups": sorted(done.waiting_on)}), flush=True)  # fmt: skip
            if not until_done or not done.waiting:
                return 0
            if asyncio.get_running_loop().time() > deadline:
                return 1
            await asyncio.sleep(1)
    finally:
        await eraser.stop()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--until-done", action="store_true", help="pass again until nothing waits for a reader")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds, with --until-done (default 300)")
    args = parser.parse_args()
    sys.exit(asyncio.run(erase_by_hand(load_settings(ConsentSettings), args.until_done, args.timeout)))


if __name__ == "__main__":
    main()
