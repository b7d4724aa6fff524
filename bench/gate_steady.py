"""bench.gate's steady mode: the gate under a steady offered rate, not a pre-filled topic.

For each rate and each linger: a fresh gate (its own consumer group, from the end of the events
topic) runs while a producer offers `rate` events/s for `seconds`; every batch's size, its latency
from fetched to committed, and each event's latency from its record timestamp (set by the
producer when it was offered) to its batch's commit.
"""

import asyncio
import statistics
import time

from aiokafka import AIOKafkaProducer

from bench.gate import REGION, event_value, ms, started_gate
from contracts.topics import events_topic


async def _offer(producer: AIOKafkaProducer, topic: str, values: list[tuple[bytes, bytes]], rate: float) -> float:
    """Send values[i] at start + i/rate; answers the rate achieved."""
    loop = asyncio.get_running_loop()
    start, sent, futures = loop.time(), 0, []
    while sent < len(values):
        due = min(len(values), int((loop.time() - start) * rate) + 1)
        for key, value in values[sent:due]:
            futures.append(await producer.send(topic, value, key=key))
        sent = due
        await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    await asyncio.gather(*futures)
    return len(values) / (loop.time() - start)


async def one(kafka: dict, pool, pseudonyms, persons: list[str], rate: float, seconds: float, linger: float) -> dict:
    topic = events_topic(REGION)
    the_gate, gate_producer = await started_gate(kafka, topic, pool, pseudonyms, linger, offset_reset="latest")
    source = the_gate.consumer
    offered = AIOKafkaProducer(**kafka, enable_idempotence=True)  # as a gateway's relay offers events
    await offered.start()
    try:
        while not source.assignment():  # joins its group; no record is there to read yet
            await source.getmany(timeout_ms=100)
        for tp in source.assignment():
            await source.position(tp)  # the end of the log, resolved before anything is offered
        count = int(rate * seconds)
        values = [
            (pseudonyms.of(p.replace("-", "")).encode(), event_value(p))
            for p in (persons[i % len(persons)] for i in range(count))
        ]
        offering = asyncio.create_task(_offer(offered, topic, values, rate))
        sizes, batch_latency, event_latency = [], [], []
        cpu = time.process_time()
        while len(event_latency) < count:
            batch = await the_gate.fetch(timeout_ms=1000)
            if not batch:
                continue
            fetched = time.perf_counter()
            await the_gate.process(batch)
            committed, now = time.perf_counter(), time.time()
            records = [r for rs in batch.values() for r in rs]
            sizes.append(len(records))
            batch_latency.append(committed - fetched)
            event_latency += [now - r.timestamp / 1000 for r in records]
        cpu = time.process_time() - cpu
        achieved = await offering
    finally:
        await source.stop()
        await gate_producer.stop()
        await offered.stop()
    return {
        "achieved": achieved, "batches": len(sizes), "size_mean": statistics.mean(sizes),
        "size_p50": statistics.median(sizes), "size_max": max(sizes),
        "batch_p50": ms(batch_latency, 50), "batch_p99": ms(batch_latency, 99),
        "event_p50": ms(event_latency, 50), "event_p99": ms(event_latency, 99), "event_max": max(event_latency) * 1000,
        "cpu_us_per_event": cpu / count * 1e6,
    }  # fmt: skip


async def steady(args, kafka: dict, pool, pseudonyms, persons: list[str]) -> None:
    print(f"steady offered load on {events_topic(REGION)}, {args.seconds:.0f} s per rate, {len(persons)} persons\n")
    print(
        f"{'offered/s':>9} {'got/s':>6} {'linger':>6} {'batches':>7} {'size mean':>9} {'p50':>5} {'max':>5} "
        f"{'batch p50':>9} {'p99 ms':>7} {'event p50':>9} {'p99':>6} {'max ms':>7} {'cpu µs/ev':>9}"
    )
    for rate in args.rate:
        for linger in args.linger_ms:
            r = await one(kafka, pool, pseudonyms, persons, rate, args.seconds, linger)
            print(
                f"{rate:>9.0f} {r['achieved']:>6.0f} {linger:>6.1f} {r['batches']:>7} {r['size_mean']:>9.1f} "
                f"{r['size_p50']:>5.0f} {r['size_max']:>5} {r['batch_p50']:>9.1f} {r['batch_p99']:>7.1f} "
                f"{r['event_p50']:>9.1f} {r['event_p99']:>6.1f} {r['event_max']:>7.1f} {r['cpu_us_per_event']:>9.0f}"
            )
