"""What one gate transaction costs on this broker and database, measured alone.

    .venv/bin/python -m bench.gate_txn [--transactions 200]

Against bench.gate's Kafka and PostgreSQL (started if they are not running; the same
SAMORDNA_BENCH_* variables), each figure the p50 / p99 over --transactions rounds, one at a time:
  - PostgreSQL: the gate's round trips for a batch of one person — BEGIN, the share lock, the
    clock, one recipient's numbers, the consent's key, COMMIT — with nothing to wait for;
  - Kafka: a transaction of one record and the consumed offsets (begin, send, offsets, commit),
    then the same with a record on each of the 13 partitions a full gate batch touches (6
    deliveries, 6 shared.events, 1 gate.decisions), and a commit with no record at all.
A gate batch pays at least the PostgreSQL and the Kafka figure in turn: together they are the
floor of its latency whatever the CPU, and their sum per batch is why a trickle of one event per
transaction cannot go fast.
"""

import argparse
import asyncio
import statistics
import time
import uuid

from aiokafka import AIOKafkaProducer, TopicPartition

from bench.gate import ALINGSAS, GATE_PRODUCER, REGION, SCHEMA, machine, stack_from_env
from contracts.topics import GATE_DECISIONS, SHARED_EVENTS, deliveries_topic, events_topic
from services.consent import repository
from services.consent.schema import SCHEMA_SQL
from services.runtime.db import create_pool

VALUE = b"x" * 900  # about a sealed board copy


def _row(name: str, seconds: list[float]) -> str:
    q = statistics.quantiles(seconds, n=100)
    return f"{name:<58} {q[49] * 1000:>7.2f} {q[98] * 1000:>7.2f}"


async def postgres_rounds(pool, count: int) -> list[float]:
    pseudonym = await pool.fetchval("SELECT person_pseudonym FROM consents LIMIT 1")
    if pseudonym is None:
        raise SystemExit("no consent in the registry: run bench.gate once first (it seeds them)")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            consents = await repository.lock_consents_of(conn, [pseudonym])
            await repository.database_now(conn)
            await repository.take_delivery_numbers(conn, {f"bench-{ALINGSAS}": 1})
            consent = consents[pseudonym][0]
            await repository.consent_keys(conn, [(consent.id, pseudonym)], lambda: bytes(32))
        times.append(time.perf_counter() - started)
    return times


async def kafka_rounds(producer: AIOKafkaProducer, partitions: list[TopicPartition], count: int, group: str):
    offsets = {TopicPartition(events_topic(REGION), 0): 0}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        async with producer.transaction():
            futures = [await producer.send(tp.topic, VALUE, partition=tp.partition) for tp in partitions]
            await producer.send_offsets_to_transaction(offsets, group)
        await asyncio.gather(*futures)
        times.append(time.perf_counter() - started)
    return times


async def main(count: int) -> None:
    stack = stack_from_env()
    print(machine())
    print(f"settings: {count} transactions each, one at a time; gate producer {GATE_PRODUCER}\n")
    stack.infrastructure("start")
    stack.create_topics()
    kafka = stack.kafka_options()
    pool = await create_pool(stack.dsn, SCHEMA, SCHEMA_SQL, min_size=1, max_size=2)
    producer = AIOKafkaProducer(**kafka, transactional_id=f"bench-txn-{uuid.uuid4()}", **GATE_PRODUCER)
    await producer.start()
    group = f"bench-txn-{uuid.uuid4()}"
    one = [TopicPartition(deliveries_topic(ALINGSAS), 0)]
    full = (
        [TopicPartition(deliveries_topic(ALINGSAS), p) for p in range(6)]
        + [TopicPartition(SHARED_EVENTS, p) for p in range(6)]
        + [TopicPartition(GATE_DECISIONS, 0)]
    )
    try:
        await kafka_rounds(producer, full, 20, group)  # warm: connections, metadata, the JVM
        print(f"{'':<58} {'p50 ms':>7} {'p99 ms':>7}")
        print(_row("PostgreSQL: the gate's round trips for one person", await postgres_rounds(pool, count)))
        print(_row("Kafka: offsets only (no record)", await kafka_rounds(producer, [], count, group)))
        print(_row("Kafka: 1 record on 1 partition + offsets", await kafka_rounds(producer, one, count, group)))
        thirteen = await kafka_rounds(producer, full, count, group)
        print(_row("Kafka: 1 record on each of 13 partitions + offsets", thirteen))
    finally:
        await producer.stop()
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=200)
    asyncio.run(main(parser.parse_args().transactions))
