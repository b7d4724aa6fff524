"""Benchmark: the gate against a plain aiokafka pass-through, on the real broker and database.

    .venv/bin/python -m bench.gate [--events 20000] [--keep]

Starts its own Kafka and PostgreSQL in .local/bench (ports 24092 / 24432), fills the registry
with 10 000 and then 1 000 000 active consents, and for each size runs, over the same
pre-filled events topic and record sizes:
  - pass-through: consume a batch, produce each record to a deliveries topic, commit offsets;
  - gate: the real `Gate.process` — share-lock the persons' consents, decide, write deliveries,
    shared copy, decision records and offsets in one Kafka transaction.
Throughput is events per second over the whole run (best of 3 runs); latency is the time from a batch being
fetched to its outputs being committed, counted once per event in it (p50, p99).
"""

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.topics import deliveries_topic, events_topic
from deploy.stack import REPO, Stack
from services.consent.domain import SHAREABLE_CATEGORIES
from services.consent.gate import GROUP_ID, Gate
from services.consent.schema import SCHEMA_SQL
from services.runtime.db import create_pool
from services.runtime.producers import RecoveringProducer
from services.runtime.pseudonym import Pseudonymizer
from tests.support.client import event
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
SCHEMA = "bench_consent"
RUNS = 3  # a shared 2-core machine is noisy: each figure is the best of RUNS runs


async def seed_consents(pool: asyncpg.Pool, pseudonyms: Pseudonymizer, persons: list[str], total: int) -> None:
    """Bring the registry to `total` active consents: the benchmark's persons first, then filler."""
    have = await pool.fetchval("SELECT count(*) FROM consents")
    now = datetime.now(UTC)
    rows, rng = [], random.Random(have)
    for i in range(have, total):
        person = persons[i] if i < len(persons) else random_person_id(rng)
        rows.append((
            uuid.uuid4(), person.replace("-", ""), pseudonyms.of(person.replace("-", "")), [REGION, ALINGSAS],
            sorted(SHAREABLE_CATEGORIES), now - timedelta(days=30), now + timedelta(days=300), "written", REGION,
        ))  # fmt: skip
    columns = [
        "id", "person_id", "person_pseudonym", "parties", "categories", "valid_from", "valid_until", "form",
        "recorded_by_principal",
    ]  # fmt: skip
    async with pool.acquire() as conn:
        for start in range(0, len(rows), 50_000):
            await conn.copy_records_to_table("consents", records=rows[start : start + 50_000], columns=columns)
    async with pool.acquire() as conn:  # VACUUM cannot run in a transaction block: outside the COPYs
        await conn.execute("VACUUM ANALYZE consents")  # so autovacuum does not run during the measurement


async def fill_topic(kafka: dict, topic: str, pseudonyms: Pseudonymizer, persons: list[str], count: int) -> int:
    producer = AIOKafkaProducer(**kafka, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    sizes = []
    try:
        for i in range(count):
            person = persons[i % len(persons)]
            value = event("se.samordna.region.visit.missed.v1", person, principal=REGION, category="attendance")
            raw = json.dumps(value).encode()
            sizes.append(len(raw))
            await producer.send(topic, raw, key=pseudonyms.of(person.replace("-", "")).encode())
        await producer.flush()
    finally:
        await producer.stop()
    return int(statistics.mean(sizes))


def _consumer(kafka: dict, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic, **kafka, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", isolation_level="read_committed", max_partition_fetch_bytes=4 * 1024 * 1024,
    )  # fmt: skip


async def _drive(consumer: AIOKafkaConsumer, count: int, handle) -> tuple[float, list[float]]:
    latencies: list[float] = []
    done, started = 0, None
    while done < count:
        batch = await consumer.getmany(timeout_ms=1000, max_records=500)
        if not batch:
            continue
        started = started or time.perf_counter()
        fetched = time.perf_counter()
        await handle(batch)
        n = sum(len(records) for records in batch.values())
        latencies += [time.perf_counter() - fetched] * n
        done += n
    return done / (time.perf_counter() - started), latencies


async def pass_through(kafka: dict, topic: str, count: int) -> tuple[float, list[float]]:
    consumer = _consumer(kafka, topic, f"bench-pass-{uuid.uuid4()}")
    producer = AIOKafkaProducer(**kafka, enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()

    async def forward(batch) -> None:
        for records in batch.values():
            for record in records:
                await producer.send(deliveries_topic(ALINGSAS), record.value, key=record.key)
        await producer.flush()
        await consumer.commit()

    try:
        return await _drive(consumer, count, forward)
    finally:
        await consumer.stop()
        await producer.stop()


async def gate(kafka: dict, topic: str, count: int, pool: asyncpg.Pool, pseudonyms: Pseudonymizer):
    group = f"{GROUP_ID}-bench-{uuid.uuid4()}"
    consumer = _consumer(kafka, topic, group)
    transactional_id = f"bench-gate-{uuid.uuid4()}"
    producer = RecoveringProducer(
        "bench-gate",
        lambda: AIOKafkaProducer(**kafka, transactional_id=transactional_id, enable_idempotence=True, linger_ms=5),
    )
    await consumer.start()
    await producer.get()
    the_gate = Gate(consumer, producer, pool, pseudonyms, {}, group_id=group)
    try:
        return await _drive(consumer, count, the_gate.process)
    finally:
        await consumer.stop()
        await producer.stop()


def _ms(latencies: list[float], q: float) -> float:
    return statistics.quantiles(latencies, n=100)[int(q) - 1] * 1000


async def main(events: int, keep: bool) -> None:
    stack = Stack(state_dir=REPO / ".local" / "bench", kafka_port=24092, pg_port=24432, http_base_port=24000)
    stack.infrastructure("start")
    stack.create_topics()
    kafka = stack.kafka_options()  # the administrator: the benchmark plays every part
    topic = events_topic(REGION)
    pseudonyms = Pseudonymizer(b"bench")
    persons = [random_person_id(random.Random(i)) for i in range(2000)]
    pool = await create_pool(stack.dsn, SCHEMA, SCHEMA_SQL, min_size=2, max_size=4)
    try:
        await pool.execute("TRUNCATE consents CASCADE")
        size = await fill_topic(kafka, topic, pseudonyms, persons, events)
        print(f"{events} events of {size} bytes on {topic}; machine: 2 cores, everything on loopback\n")
        print(f"{'consents':>10} {'path':>13} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
        results = {}
        for total in (10_000, 1_000_000):
            await seed_consents(pool, pseudonyms, persons, total)
            if total == 10_000:  # a fresh broker's JVM is cold: one untimed pass of each path first
                await pass_through(kafka, topic, events)
                await gate(kafka, topic, events, pool, pseudonyms)
            for name, run in (("pass-through", lambda: pass_through(kafka, topic, events)),
                              ("gate", lambda: gate(kafka, topic, events, pool, pseudonyms))):  # fmt: skip
                rate, latencies = max([await run() for _ in range(RUNS)], key=lambda result: result[0])
                results[(total, name)] = rate
                print(f"{total:>10} {name:>13} {rate:>9.0f} {_ms(latencies, 50):>7.1f} {_ms(latencies, 99):>7.1f}")
        print()
        for total in (10_000, 1_000_000):
            ratio = results[(total, "gate")] / results[(total, "pass-through")]
            print(f"gate / pass-through at {total:>9} consents: {ratio:.2f}")
        kept = results[(1_000_000, "gate")] / results[(10_000, "gate")]
        print(f"gate throughput at 1 000 000 consents is {kept:.0%} of its throughput at 10 000")
    finally:
        await pool.close()
        if not keep:
            stack.infrastructure("stop")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="leave Kafka and PostgreSQL running")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.keep))
