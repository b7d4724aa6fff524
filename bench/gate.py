"""Benchmark: the gate against a plain aiokafka pass-through, on the real broker and database.

    .venv/bin/python -m bench.gate [--events 20000] [--consents 10000,1000000] [--keep]
    .venv/bin/python -m bench.gate --rate 100,1000 [--seconds 20] [--linger-ms 0,5]

Starts its own Kafka and PostgreSQL in .local/bench on ports 24092 / 24432
(SAMORDNA_BENCH_KAFKA_PORT, _PG_PORT, _HTTP_BASE and _STATE_DIR override them) and fills the
registry with 10 000 and then 1 000 000 active consents. Prints the machine (cores, load
average), the commit and every setting first.

Pre-filled (the default): for each size, over the same pre-filled events topic and record sizes:
  - pass-through: consume a batch, produce each record to a deliveries topic, commit offsets;
  - gate: the real `Gate.fetch` and `Gate.process` — share-lock the persons' consents, decide,
    write deliveries, shared copy, decision records and offsets in one Kafka transaction.
Throughput is events per second over the whole run (best of --runs runs); latency is the time
from a batch being fetched to its outputs being committed, counted once per event in it; CPU is
this process's CPU time per event in that run (the broker's and PostgreSQL's are not in it).

Steady (--rate): a producer offers each rate for --seconds to the events topic while the gate
runs, once per --linger-ms: batch sizes, batch latency (fetched to committed) and event latency
(the record's timestamp at the producer to its batch committed), bench/gate_steady.py.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import parse_event
from contracts.topics import deliveries_topic, events_topic
from deploy.stack import REPO, Stack
from services.consent.domain import SHAREABLE_CATEGORIES
from services.consent.gate import GROUP_ID, PRODUCER_OPTIONS, Gate
from services.consent.schema import SCHEMA_SQL
from services.runtime.db import create_pool
from services.runtime.producers import RecoveringProducer
from services.runtime.pseudonym import Pseudonymizer
from tests.support.client import event
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
SCHEMA = "bench_consent"
MAX_RECORDS = 500  # the gate's default batch
GATE_PRODUCER = PRODUCER_OPTIONS  # the gate's own (services/consent/gate.py)
PERSONS = 2000


def stack_from_env() -> Stack:
    return Stack(
        state_dir=Path(os.environ.get("SAMORDNA_BENCH_STATE_DIR", REPO / ".local" / "bench")),
        kafka_port=int(os.environ.get("SAMORDNA_BENCH_KAFKA_PORT", 24092)),
        pg_port=int(os.environ.get("SAMORDNA_BENCH_PG_PORT", 24432)),
        http_base_port=int(os.environ.get("SAMORDNA_BENCH_HTTP_BASE", 24000)),
    )


def machine() -> str:
    """Cores, load average and the commit: a figure means little without them on a shared machine."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return (
        f"machine: {os.cpu_count()} cores, load average {load}; Kafka, PostgreSQL and the benchmark on loopback\n"
        f"commit: {commit or 'unknown'}{' (with uncommitted changes)' if dirty.stdout.strip() else ''}"
    )


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


def event_value(person: str) -> bytes:
    """An event as the region's gateway writes it to its events topic: read and normalised
    (`parse_event`), so its subject in the canonical YYYYMMDDNNNN, as the gate sees every event."""
    value = event("se.samordna.region.visit.missed.v1", person, principal=REGION, category="attendance")
    return parse_event(json.dumps(value).encode(), sender=REGION).to_json()


async def fill_topic(kafka: dict, topic: str, pseudonyms: Pseudonymizer, persons: list[str], count: int) -> int:
    producer = AIOKafkaProducer(**kafka, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    sizes = []
    try:
        for i in range(count):
            person = persons[i % len(persons)]
            raw = event_value(person)
            sizes.append(len(raw))
            await producer.send(topic, raw, key=pseudonyms.of(person.replace("-", "")).encode())
        await producer.flush()
    finally:
        await producer.stop()
    return int(statistics.mean(sizes))


def consumer(kafka: dict, topic: str, group: str, offset_reset: str = "earliest") -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic, **kafka, group_id=group, enable_auto_commit=False,
        auto_offset_reset=offset_reset, isolation_level="read_committed", max_partition_fetch_bytes=4 * 1024 * 1024,
    )  # fmt: skip


async def _drive(fetch, count: int, handle) -> tuple[float, list[float], float]:
    """(events/s, each event's batch latency, CPU seconds of this process per event)."""
    latencies: list[float] = []
    done, started, cpu = 0, None, 0.0
    while done < count:
        batch = await fetch()
        if not batch:
            continue
        if started is None:
            started, cpu = time.perf_counter(), time.process_time()
        fetched = time.perf_counter()
        await handle(batch)
        n = sum(len(records) for records in batch.values())
        latencies += [time.perf_counter() - fetched] * n
        done += n
    return done / (time.perf_counter() - started), latencies, (time.process_time() - cpu) / done


async def pass_through(kafka: dict, topic: str, count: int) -> tuple[float, list[float], float]:
    source = consumer(kafka, topic, f"bench-pass-{uuid.uuid4()}")
    producer = AIOKafkaProducer(**kafka, enable_idempotence=True, linger_ms=5)
    await source.start()
    await producer.start()

    async def forward(batch) -> None:
        for records in batch.values():
            for record in records:
                await producer.send(deliveries_topic(ALINGSAS), record.value, key=record.key)
        await producer.flush()
        await source.commit()

    try:
        return await _drive(lambda: source.getmany(timeout_ms=1000, max_records=MAX_RECORDS), count, forward)
    finally:
        await source.stop()
        await producer.stop()


async def started_gate(
    kafka: dict, topic: str, pool: asyncpg.Pool, pseudonyms: Pseudonymizer, linger_ms: float, offset_reset="earliest"
):
    """The real gate on a consumer group of its own, and its transactional producer, started."""
    group = f"{GROUP_ID}-bench-{uuid.uuid4()}"
    source = consumer(kafka, topic, group, offset_reset)
    transactional_id = f"bench-gate-{uuid.uuid4()}"
    producer = RecoveringProducer(
        "bench-gate", lambda: AIOKafkaProducer(**kafka, transactional_id=transactional_id, **GATE_PRODUCER)
    )
    await source.start()
    await producer.get()
    return Gate(source, producer, pool, pseudonyms, {}, MAX_RECORDS, group, linger_ms=linger_ms), producer


async def gate(kafka: dict, topic: str, count: int, pool: asyncpg.Pool, pseudonyms: Pseudonymizer):
    the_gate, producer = await started_gate(kafka, topic, pool, pseudonyms, 0)
    try:
        return await _drive(lambda: the_gate.fetch(timeout_ms=1000), count, the_gate.process)
    finally:
        await the_gate.consumer.stop()
        await producer.stop()


def ms(latencies: list[float], q: float) -> float:
    return statistics.quantiles(latencies, n=100)[int(q) - 1] * 1000


async def prefilled(args, kafka: dict, pool: asyncpg.Pool, pseudonyms: Pseudonymizer, persons: list[str]) -> None:
    topic = events_topic(REGION)
    size = await fill_topic(kafka, topic, pseudonyms, persons, args.events)
    print(f"{args.events} events of {size} bytes on {topic}, {len(persons)} persons\n")
    print(f"{'consents':>10} {'path':>13} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'cpu µs/event':>12}")
    results = {}
    for n, total in enumerate(args.consents):
        await seed_consents(pool, pseudonyms, persons, total)
        for name, run in (("pass-through", lambda: pass_through(kafka, topic, args.events)),
                          ("gate", lambda: gate(kafka, topic, args.events, pool, pseudonyms))):  # fmt: skip
            if name not in args.paths:
                continue
            if n == 0:  # a fresh broker's JVM is cold: one untimed pass of each path first
                await run()
            rate, latencies, cpu = max([await run() for _ in range(args.runs)], key=lambda result: result[0])
            results[(total, name)] = rate
            print(
                f"{total:>10} {name:>13} {rate:>9.0f} {ms(latencies, 50):>7.1f} {ms(latencies, 99):>7.1f} "
                f"{cpu * 1e6:>12.0f}"
            )
    print()
    for total in args.consents:
        if (total, "gate") in results and (total, "pass-through") in results:
            ratio = results[(total, "gate")] / results[(total, "pass-through")]
            print(f"gate / pass-through at {total:>9} consents: {ratio:.2f}")
    first, last = args.consents[0], args.consents[-1]
    if first != last and (first, "gate") in results and (last, "gate") in results:
        kept = results[(last, "gate")] / results[(first, "gate")]
        print(f"gate throughput at {last} consents is {kept:.0%} of its throughput at {first}")


async def main(args) -> None:
    from bench.gate_steady import steady  # noqa: PLC0415 (it imports this module)

    stack = stack_from_env()
    print(machine())
    print(
        f"settings: events {args.events}, consents {args.consents}, runs {args.runs} (best of), paths {args.paths}, "
        f"max_records {MAX_RECORDS}, gate producer {GATE_PRODUCER}, rates {args.rate or '-'}, "
        f"seconds {args.seconds}, gate linger ms {args.linger_ms}; "
        f"Kafka 127.0.0.1:{stack.kafka_port}, PostgreSQL 127.0.0.1:{stack.pg_port}, state {stack.state_dir}"
    )
    stack.infrastructure("start")
    stack.create_topics()
    kafka = stack.kafka_options()  # the administrator: the benchmark plays every part
    pseudonyms = Pseudonymizer(b"bench")
    persons = [random_person_id(random.Random(i)) for i in range(PERSONS)]
    pool = await create_pool(stack.dsn, SCHEMA, SCHEMA_SQL, min_size=2, max_size=4)
    try:
        await pool.execute("TRUNCATE consents CASCADE")
        if args.rate:
            await seed_consents(pool, pseudonyms, persons, args.consents[0])
            await steady(args, kafka, pool, pseudonyms, persons)
        else:
            await prefilled(args, kafka, pool, pseudonyms, persons)
    finally:
        await pool.close()
        if not args.keep:
            stack.infrastructure("stop")


def _numbers(kind):
    return lambda text: [kind(x) for x in text.split(",") if x]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--consents", type=_numbers(int), default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="each figure is the best of this many runs")
    parser.add_argument("--paths", type=lambda text: text.split(","), default=["pass-through", "gate"])
    parser.add_argument("--rate", type=_numbers(float), default=[], help="steady mode: events/s offered")
    parser.add_argument("--seconds", type=float, default=20.0, help="steady mode: how long each rate is offered")
    parser.add_argument("--linger-ms", type=_numbers(float), default=[0.0, 5.0], help="steady mode: the gate's")
    parser.add_argument("--keep", action="store_true", help="leave Kafka and PostgreSQL running")
    asyncio.run(main(parser.parse_args()))
