"""Benchmark: webhook deliveries from one gateway's inbox to a fast receiver on loopback.

    .venv/bin/python -m bench.webhooks [--events 5000] [--fhir-events 1000] [--rate 200] [--seconds 10]
                                       [--idle 20] [--scenarios backlog,fhir,steady,idle]

Starts its own PostgreSQL (state in .local/bench-webhooks, port 26432; SAMORDNA_BENCH_STATE_DIR,
_PG_PORT override them) and the receiver, bench/webhooks_receiver.py, as a process of its own on
port 26000 (SAMORDNA_BENCH_HTTP_BASE). No Kafka: the inbox is filled by the inbox writer's own
`store_delivered`, in batches as its consumer hands them over, in a fresh gateway schema each
scenario. The real `Dispatcher` runs with the gateway's workers (the FHIR one for format 'fhir')
and the gateway's settings, so SAMORDNA_WEBHOOK_* variables apply as they do to a gateway; its
logs go as JSON to <state>/gateway.log, as a gateway writes them.

  backlog  N rows already in the inbox, one plain subscription: deliveries/s until all arrived;
  fhir     the same for one FHIR subscription (in event-number order, one at a time);
  steady   rows written at --rate/s for --seconds while the dispatcher runs: latency from the
           inbox row's received_at (PostgreSQL's clock) to its arrival (the receiver's clock);
  idle     one row at a time, --idle times, 0.3-0.8 s apart: the latency of a lone event.

DB round trips per delivery are every statement the dispatcher's pool sent (asyncpg's query
logger: BEGIN and COMMIT count) over the deliveries made; the inbox writer's are not in them.
"""

import argparse
import asyncio
import collections
import json
import logging
import os
import random
import statistics
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench import webhooks_receiver
from bench.gate import machine
from contracts import parse_event
from contracts.fhir import TOPIC_ALL
from deploy.stack import REPO, Stack
from services.gateway.bootstrap import SCHEMA_SQL, utc_now
from services.gateway.fhir.worker import fhir_worker_factory
from services.gateway.inbox import Delivered, store_delivered
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks.dispatcher import DispatchConfig, Dispatcher
from services.runtime.db import create_pool
from services.runtime.logs import configure_logging
from tests.support.client import event
from tests.support.personnummer import random_person_id

SCHEMA = "bench_webhooks"
SENDER, RECIPIENT = "region-14", "kommun-1489"
SECRET = "bench-webhooks-secret-0123456789"  # noqa: S105 (the receiver's, on loopback)
WRITER_BATCH = 500  # the most rows one store_delivered call gets in the backlog fill


def bench_stack() -> Stack:
    env = os.environ.get
    return Stack(
        state_dir=Path(env("SAMORDNA_BENCH_STATE_DIR", REPO / ".local" / "bench-webhooks")),
        pg_port=int(env("SAMORDNA_BENCH_PG_PORT", 26432)),
        http_base_port=int(env("SAMORDNA_BENCH_HTTP_BASE", 26000)),
    )


@dataclass(eq=False)  # hashable: asyncpg keeps its loggers in a set
class RoundTrips:
    """Counts the statements the dispatcher's pool sends (asyncpg calls this once per query)."""

    count: int = 0
    statements: collections.Counter = field(default_factory=collections.Counter)

    def __call__(self, logged) -> None:
        self.count += 1
        self.statements[" ".join(logged.query.split())[:70]] += 1


@dataclass
class Result:
    name: str
    deliveries: int
    seconds: float
    round_trips: int
    latencies_ms: list[float]
    cpu_seconds: float  # this process's, over the same time: the dispatcher's, and the bench's own

    def line(self) -> str:
        rate = self.deliveries / self.seconds if self.seconds else 0.0
        text = f"{self.name:8} {self.deliveries:6d} delivered in {self.seconds:7.2f} s = {rate:7.1f}/s"
        per = max(self.deliveries, 1)
        trips, cpu_ms = self.round_trips / per, self.cpu_seconds / per * 1000
        text += f"; per delivery {trips:5.2f} DB round trips, {cpu_ms:.2f} ms CPU"
        if self.latencies_ms:
            lat = sorted(self.latencies_ms)
            q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
            text += f"; inbox row -> receiver ms p50 {q[49]:.1f} p95 {q[94]:.1f} p99 {q[98]:.1f} max {lat[-1]:.1f}"
        return text


class Bench:
    def __init__(self, stack: Stack, settings: GatewaySettings, receiver_url: str) -> None:
        self.stack = stack
        self.settings = settings
        self.url = receiver_url
        self.http = httpx.AsyncClient(timeout=600)
        self.rng = random.Random(20)
        self.persons = [random_person_id(self.rng) for _ in range(200)]
        self.show_statements = False

    @asynccontextmanager
    async def schema(self):
        """A fresh gateway schema: the dispatcher's pool (counted) and the inbox writer's."""
        conn = await asyncpg.connect(self.stack.dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        await conn.close()
        trips = RoundTrips()

        async def count(conn: asyncpg.Connection) -> None:
            conn.add_query_logger(trips)

        # the sizes of the gateway's own pool (services/gateway/bootstrap.py open_pool)
        pool = await create_pool(self.stack.dsn, SCHEMA, SCHEMA_SQL, min_size=2, max_size=10, init=count)
        writer = await create_pool(self.stack.dsn, SCHEMA, SCHEMA_SQL, min_size=1, max_size=2)
        try:
            yield pool, writer, trips
        finally:
            await pool.close()
            await writer.close()

    @asynccontextmanager
    async def dispatching(self, pool: asyncpg.Pool):
        config = DispatchConfig.from_settings(self.settings, RECIPIENT)
        workers = {"fhir": fhir_worker_factory(RECIPIENT, self.settings.fhir_base())}
        task = asyncio.create_task(Dispatcher(pool, RECIPIENT, config, utc_now, workers).run())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def subscribe(self, writer: asyncpg.Pool, fmt: str) -> None:
        sub_id = uuid.uuid4()
        await writer.execute(
            """INSERT INTO webhook_subscriptions (id, url, secret, event_types, last_seq, format)
               VALUES ($1, $2, $3, '{}', (SELECT coalesce(max(seq), 0) FROM inbox), $4)""",
            sub_id, self.url, SECRET, fmt,
        )  # fmt: skip
        if fmt == "fhir":
            await writer.execute(
                "INSERT INTO fhir_subscriptions (id, topic, content, reason) VALUES ($1, $2, 'id-only', 'bench')",
                sub_id, TOPIC_ALL,
            )  # fmt: skip

    async def write(self, writer: asyncpg.Pool, count: int) -> list[str]:
        """`count` rows into the inbox the way the inbox writer stores a consumer's batch."""
        items = []
        for _ in range(count):
            body = event("se.samordna.region.visit.missed.v1", self.rng.choice(self.persons),
                         principal=SENDER, category="attendance")  # fmt: skip
            items.append(Delivered(parse_event(json.dumps(body).encode()), delivery_seq=None))
        async with writer.acquire() as conn:
            await store_delivered(conn, items, {})
        return [item.event.id for item in items]

    async def arrived(self, count: int, timeout: float = 300) -> dict:
        response = await self.http.get(f"{self.url}/wait", params={"count": count, "timeout": timeout})
        return response.json()

    async def arrivals(self) -> dict:
        return (await self.http.get(f"{self.url}/arrivals")).json()

    async def latencies(self, writer: asyncpg.Pool, arrivals: dict[str, float]) -> list[float]:
        rows = await writer.fetch("SELECT event_id, extract(epoch FROM received_at) AS at FROM inbox")
        return [(arrivals[r["event_id"]] - float(r["at"])) * 1000 for r in rows if r["event_id"] in arrivals]

    async def backlog(self, fmt: str, events: int) -> Result:
        async with self.schema() as (pool, writer, trips):
            await self.subscribe(writer, fmt)
            for start in range(0, events, WRITER_BATCH):
                await self.write(writer, min(WRITER_BATCH, events - start))
            await self.arrivals()
            trips.count, cpu = 0, time.process_time()
            trips.statements.clear()
            started = time.perf_counter()
            async with self.dispatching(pool):
                counts = await self.arrived(events)
                seconds = time.perf_counter() - started
                made, cpu = trips.count, time.process_time() - cpu
            check(await self.arrivals(), counts, events)
            if self.show_statements:
                for statement, n in trips.statements.most_common(8):
                    print(f"    {n / events:5.2f} per delivery: {statement}")
            return Result("backlog" if fmt == "webhook" else "fhir", counts["events"], seconds, made, [], cpu)

    async def steady(self, rate: float, seconds: float) -> Result:
        async with self.schema() as (pool, writer, trips), self.dispatching(pool):
            await self.subscribe(writer, "webhook")
            await self.write(writer, 1)  # warm: the worker is running and its connection open
            await self.arrived(1)
            await self.arrivals()
            trips.count, cpu = 0, time.process_time()
            written, started = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds:
                due = int(elapsed * rate) - written
                if due > 0:  # open loop: what is due by now, in one writer transaction
                    written += len(await self.write(writer, due))
                await asyncio.sleep(0.01)
            counts = await self.arrived(written)
            spent = time.perf_counter() - started
            made, cpu = trips.count, time.process_time() - cpu
            arrivals = await self.arrivals()
            check(arrivals, counts, written)
            # deliveries/s here are over the writing and the drain after it, to the last arrival
            latencies = await self.latencies(writer, arrivals["arrivals"])
            return Result(f"steady {rate:g}/s", counts["events"], spent, made, latencies, cpu)

    async def idle(self, times: int) -> Result:
        async with self.schema() as (pool, writer, trips), self.dispatching(pool):
            await self.subscribe(writer, "webhook")
            await self.write(writer, 1)
            await self.arrived(1)
            await self.arrivals()
            trips.count, cpu = 0, time.process_time()
            started = time.perf_counter()
            for n in range(1, times + 1):
                await asyncio.sleep(self.rng.uniform(0.3, 0.8))  # the pause is the scenario, not a wait
                await self.write(writer, 1)
                await self.arrived(n)
            spent = time.perf_counter() - started
            made, cpu = trips.count, time.process_time() - cpu
            arrivals = await self.arrivals()
            check(arrivals, arrivals, times)  # /arrivals counts what it hands over
            return Result("idle", times, spent, made, await self.latencies(writer, arrivals["arrivals"]), cpu)


def check(arrivals: dict, counts: dict, expected: int) -> None:
    if counts["events"] < expected or arrivals["bad_signatures"]:
        print(f"  !! expected {expected}, receiver saw {counts} / {arrivals['bad_signatures']} bad signatures")


@asynccontextmanager
async def receiver(stack: Stack):
    async with webhooks_receiver.running(SECRET, stack.state_dir / "receiver.log", stack.http_base_port) as (url, _):
        yield url


async def run(args: argparse.Namespace) -> None:
    stack = bench_stack()
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    settings = GatewaySettings(webhook_allow_loopback=True)
    configure_logging(f"gateway-{RECIPIENT}")
    logging.getLogger().handlers[0].setStream((stack.state_dir / "gateway.log").open("w"))
    print(machine())
    print(
        f"settings: concurrency per endpoint {settings.webhook_concurrency_per_endpoint}, "
        f"poll {settings.webhook_poll_seconds:g} s, timeout {settings.webhook_timeout_seconds:g} s; "
        f"PostgreSQL on {stack.pg_port}, receiver (own process, uvicorn) on {stack.http_base_port}"
    )
    stack.postgres("start")
    try:
        async with receiver(stack) as url:
            bench = Bench(stack, settings, url)
            bench.show_statements = args.statements
            scenarios = {
                "backlog": lambda: bench.backlog("webhook", args.events),
                "fhir": lambda: bench.backlog("fhir", args.fhir_events),
                "steady": lambda: bench.steady(args.rate, args.seconds),
                "idle": lambda: bench.idle(args.idle),
            }
            for name in args.scenarios.split(","):
                print((await scenarios[name]()).line(), flush=True)
            await bench.http.aclose()
    finally:
        if not args.keep:
            stack.postgres("stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="backlog of the plain subscription")
    parser.add_argument("--fhir-events", type=int, default=1000, help="backlog of the FHIR subscription")
    parser.add_argument("--rate", type=float, default=200.0, help="inbox rows/s written in the steady scenario")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=int, default=20, help="lone events in the idle scenario")
    parser.add_argument("--scenarios", default="backlog,fhir,steady,idle")
    parser.add_argument("--statements", action="store_true", help="the backlogs' statements, most frequent first")
    parser.add_argument("--keep", action="store_true", help="leave PostgreSQL running")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
