"""Benchmark: gate replicas on the three-broker cluster — throughput with one and with two, and
every event decided exactly once.

    .venv/bin/python -m bench.replicas [--events 6000] [--replicas 1,2] [--consents 10000] [--keep]

Starts a three-broker KRaft cluster (replication 3, min.insync.replicas 2) and PostgreSQL on its
own ports and state directory (SAMORDNA_BENCH_KAFKA_PORT / _PG_PORT / _HTTP_BASE / _STATE_DIR,
defaults 21092 (21092, 21094, 21096) / 21432 / 21000 / .local/bench-replicas), seeds the registry
with `--consents` active consents (the events' persons among them), and for each replica count:
fills `events.region-14` with `--events` visit.missed events (6 partitions) while no gate runs,
starts that many consent services (`python -m services.consent`, each with its own
SAMORDNA_GATE_INSTANCE_ID, so its own transactional id, in the gate's one consumer group) and
times from the group's first committed progress to the moment it has committed every event.
Then reads `gate.decisions` as committed and counts the decisions of the round's events: each
must have exactly one. Start-up and the group's first rebalance are outside the timing; a
rebalance while the gates run is not (each gate's log says when its partitions were assigned).
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.board import machine
from contracts.topics import GATE_DECISIONS, PER_PERSON_PARTITIONS, events_topic
from deploy.layout import REPO
from deploy.stack import Stack
from services.consent.domain import SHAREABLE_CATEGORIES
from services.consent.gate import GROUP_ID
from services.consent.schema import SCHEMA_SQL
from services.runtime.db import create_pool
from services.runtime.pseudonym import Pseudonymizer
from tests.support.client import event
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
TOPIC = events_topic(REGION)
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


def cluster_stack() -> Stack:
    env = os.environ.get
    return Stack(
        state_dir=Path(env("SAMORDNA_BENCH_STATE_DIR", REPO / ".local" / "bench-replicas")),
        kafka_port=int(env("SAMORDNA_BENCH_KAFKA_PORT", 21092)),
        kafka_nodes=3,
        pg_port=int(env("SAMORDNA_BENCH_PG_PORT", 21432)),
        http_base_port=int(env("SAMORDNA_BENCH_HTTP_BASE", 21000)),
        lanskod="14",
        kommunkoder=("1489", "1441"),
    )


async def seed_consents(stack: Stack, pseudonyms: Pseudonymizer, persons: list[str], total: int) -> None:
    """`total` active consents between the region and Alingsås: the benchmark's persons, then filler."""
    pool = await create_pool(stack.dsn, "consent", SCHEMA_SQL, min_size=1, max_size=1)
    now, rng = datetime.now(UTC), random.Random(7)
    rows = []
    for i in range(total):
        person = (persons[i] if i < len(persons) else random_person_id(rng)).replace("-", "")
        rows.append((
            uuid.uuid4(), person, pseudonyms.of(person), [REGION, ALINGSAS], sorted(SHAREABLE_CATEGORIES),
            now - timedelta(days=30), now + timedelta(days=300), "written", REGION,
        ))  # fmt: skip
    columns = ["id", "person_id", "person_pseudonym", "parties", "categories", "valid_from", "valid_until", "form",
               "recorded_by_principal"]  # fmt: skip
    try:
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("consents", records=rows, columns=columns)
            await conn.execute("ANALYZE consents")
    finally:
        await pool.close()


async def fill(stack: Stack, pseudonyms: Pseudonymizer, persons: list[str], count: int) -> set[str]:
    producer = AIOKafkaProducer(**stack.kafka_options(), linger_ms=20, acks="all")
    await producer.start()
    ids = set()
    try:
        for i in range(count):
            person = persons[i % len(persons)]
            body = event(VISIT_MISSED, person, principal=REGION, category="attendance")
            ids.add(body["id"])
            key = pseudonyms.of(person.replace("-", "")).encode()
            await producer.send(TOPIC, json.dumps(body).encode(), key=key)
        await producer.flush()
    finally:
        await producer.stop()
    return ids


async def until_decided(stack: Stack, count: int, started_at: dict[TopicPartition, int]) -> float:
    """Seconds from the gate group's first committed progress past `started_at` to all `count` committed."""
    admin = AIOKafkaAdminClient(**stack.kafka_options())
    await admin.start()
    first = None
    try:
        while True:
            offsets = await admin.list_consumer_group_offsets(GROUP_ID)
            done = sum(max(0, o.offset - started_at[tp]) for tp, o in offsets.items() if tp in started_at)
            now = time.perf_counter()
            if done and first is None:
                first = now
            if done >= count:
                return now - (first or now)
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def ends(stack: Stack) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**stack.kafka_options())
    await consumer.start()
    try:
        return await consumer.end_offsets([TopicPartition(TOPIC, p) for p in range(PER_PERSON_PARTITIONS)])
    finally:
        await consumer.stop()


async def decisions_of(stack: Stack, ids: set[str]) -> Counter:
    """How many committed decisions each of these events has on gate.decisions."""
    consumer = AIOKafkaConsumer(**stack.kafka_options(), isolation_level="read_committed")
    await consumer.start()
    counted: Counter = Counter()
    try:
        partitions = [TopicPartition(GATE_DECISIONS, p) for p in range(PER_PERSON_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        last = await consumer.end_offsets(partitions)
        while any([await consumer.position(tp) < end for tp, end in last.items()]):
            for records in (await consumer.getmany(timeout_ms=1000, max_records=2000)).values():
                for record in records:
                    for decision in json.loads(record.value)["decisions"]:
                        if decision["event_id"] in ids:
                            counted[decision["event_id"]] += 1
    finally:
        await consumer.stop()
    return counted


def gates(stack: Stack, k: int) -> list[str]:
    """Start k consent services (gate-0 .. gate-k-1), each on its own port, until ready."""
    names = []
    for i in range(k):
        name = "consent" if i == 0 else f"consent-{i}"
        port = stack.service("consent").port if i == 0 else stack.http_base_port + 40 + i
        stack.start_service("consent", instance=name, port=port, extra_env={"SAMORDNA_GATE_INSTANCE_ID": f"gate-{i}"})
        names.append((name, port))
    for _, port in names:
        stack.wait_ready(f"http://127.0.0.1:{port}", timeout=180)
    return [name for name, _ in names]


async def round_of(stack: Stack, k: int, pseudonyms: Pseudonymizer, persons: list[str], count: int) -> tuple:
    before = await ends(stack)
    ids = await fill(stack, pseudonyms, persons, count)
    started = await asyncio.to_thread(gates, stack, k)
    try:
        seconds = await until_decided(stack, count, before)
    finally:
        for name in started:
            await asyncio.to_thread(stack.stop_service, name)
    counted = await decisions_of(stack, ids)
    return count / seconds, seconds, counted


async def main(args: argparse.Namespace) -> None:
    stack = cluster_stack()
    print(machine())
    print(f"settings: events={args.events} replicas={args.replicas} consents={args.consents}; three brokers on "
          f"{stack.bootstrap}, postgres {stack.pg_port}; {PER_PERSON_PARTITIONS} partitions per topic")  # fmt: skip
    if stack.state_dir.exists():
        stack.down()
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    try:
        await asyncio.to_thread(stack.infrastructure, "start")
        await asyncio.to_thread(stack.create_topics)
        await asyncio.to_thread(stack.grant_access)
        await asyncio.to_thread(gates, stack, 1)  # the consent service makes its schema
        await asyncio.to_thread(stack.stop_service, "consent")
        pseudonyms = Pseudonymizer(stack.ensure_secrets()["pseudonym_secret"].encode())
        persons = [random_person_id(random.Random(i)) for i in range(2000)]
        await seed_consents(stack, pseudonyms, persons, args.consents)
        await round_of(stack, 1, pseudonyms, persons, min(args.events, 2000))  # warm: the brokers' JVMs are cold
        print(f"\n{'gates':>5} {'events':>7} {'seconds':>8} {'events/s':>9} {'decided once':>13} {'not once':>9}")
        for k in [int(r) for r in args.replicas.split(",")]:
            rate, seconds, counted = await round_of(stack, k, pseudonyms, persons, args.events)
            once = sum(1 for n in counted.values() if n == 1)
            times = Counter(counted.values())
            times[0] = args.events - sum(times.values())
            line = f"{k:>5} {args.events:>7} {seconds:>8.1f} {rate:>9.0f} {once:>13} {args.events - once:>9}"
            print(line + f"   events by number of decisions: {dict(sorted(times.items()))}", flush=True)
    finally:
        if not args.keep:
            await asyncio.to_thread(stack.down)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--consents", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))
