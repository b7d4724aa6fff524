"""Benchmark: events posted to a gateway over HTTP, against PostgreSQL's own insert-and-commit rate.

    .venv/bin/python -m bench.ingest [--clients 16] [--seconds 10] [--modes fresh,keepalive,httpx]
                                     [--batch] [--batch-size 500] [--stack .local/stack.json] [--keep]

Starts a whole stack of its own (every service, as the tests do; state in .local/bench-ingest,
Kafka 24592, PostgreSQL 24932, services from 24500 — SAMORDNA_BENCH_STATE_DIR, _KAFKA_PORT,
_PG_PORT and _HTTP_BASE override them), or uses the one `make up` started (`--stack`).
`--clients` clients post `visit.missed` events for random persons to the region's gateway:
  - fresh:     one TCP connection per request (Connection: close);
  - keepalive: one kept connection per client;
  - httpx:     one httpx.AsyncClient with a pool of `--clients` connections (keep-alive);
  - httpx-each: an httpx.AsyncClient of one connection per client (keep-alive);
  - batch:     (--batch) keep-alive, `--batch-size` events per POST /v1/events:batch;
and prints accepted events/s and the 202's p50/p99. In the same run, pgbench runs the same
single-row INSERT … ON CONFLICT DO NOTHING RETURNING of the outbox, one transaction each, with
the same number of clients, on a copy of the outbox table in the same database; the ratio is
gateway / pgbench. Last, it waits for the relay to publish what the clients left in the outbox and
prints its rate: a catch-up through the batch endpoint reaches the gate that fast.
"""

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from bench import http_load
from bench.live_stack import Target, add_stack_arguments, live_target
from tests.support.client import event
from tests.support.personnummer import random_person_id

EVENT_TYPE = "se.samordna.region.visit.missed.v1"
WARM_UP_SECONDS = 3.0
DRAIN_TIMEOUT = 300.0  # seconds to wait for the relay to publish what the clients left


def region_of(target: Target) -> str:
    return next(name for name in target.services if name.startswith("region-"))


class Events:
    """Bodies of fresh events for a fixed crowd of random persons."""

    def __init__(self, persons: int = 2000, seed: int = 20) -> None:
        rng = random.Random(seed)
        self._persons = [random_person_id(rng) for _ in range(persons)]
        self._rng = rng

    def one(self) -> dict:
        return event(EVENT_TYPE, self._rng.choice(self._persons))

    def body(self) -> bytes:
        return json.dumps(self.one()).encode()

    def batch(self, size: int) -> bytes:
        return json.dumps({"events": [self.one() for _ in range(size)]}).encode()


def accepted_in_batch(status: int, answer: bytes) -> int:
    if status != 200:
        return 0
    return sum(1 for item in json.loads(answer)["results"] if item["status"] == 202)


async def prepare_pgbench_table(dsn: str, schema: str) -> None:
    """An empty table of the outbox's shape (same columns, keys and index) beside the gateway's."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS bench_ingest; DROP TABLE IF EXISTS bench_ingest.outbox")
        await conn.execute("SET search_path TO bench_ingest")
        columns = "'body_sha256 text NOT NULL'"
        await conn.execute(f"SELECT \"{schema}\".create_outbox_table('outbox', 'accepted_at', {columns})")
    finally:
        await conn.close()


def pgbench(dsn: str, clients: int, seconds: float, body: str) -> tuple[float, float]:
    """Transactions per second and mean latency (ms) of the outbox's insert, by pgbench."""
    literal = body.replace("'", "''")
    statement = (
        "INSERT INTO bench_ingest.outbox (event_id, body_sha256, event, kafka_key) "
        f"VALUES (gen_random_uuid()::text, md5(random()::text), '{literal}', md5(random()::text)) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING accepted_at;\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(statement)
    try:
        command = ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1))]
        command += ["-T", str(int(seconds)), "-f", script.name, dsn]
        # PostgreSQL's own tool, from PATH (Debian's postgresql-client, beside the server deploy/postgres.sh runs)
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(script.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))
    return tps, latency


def _row(name: str, outcome: http_load.Outcome, requests_per_item: float = 1.0) -> str:
    refused = ", ".join(f"{n}×{status}" for status, n in sorted(outcome.refused.items()))
    return (
        f"{name:>24} {outcome.per_second:>9.0f} {outcome.ms(50):>8.1f} {outcome.ms(99):>8.1f}"
        f"{'  refused: ' + refused if refused else ''}"
    )


async def measure(target: Target, clients: int, seconds: float, modes: list[str], batch_size: int | None) -> None:
    region = region_of(target)
    url = target.services[region]
    headers = {"Authorization": f"Bearer {target.token(region)}"}
    events = Events()
    schema = "gateway_" + region.replace("-", "_")
    await prepare_pgbench_table(target.dsn, schema)

    print(f"{clients} clients, {seconds:.0f} s per mode, {EVENT_TYPE} for 2 000 random persons to {url}")
    print(f"one event is {len(events.body())} bytes; {WARM_UP_SECONDS:.0f} s of warm-up (not counted) first\n")
    await http_load.run(url + "/v1/events", headers, events.body, clients, WARM_UP_SECONDS, "keepalive")
    print(f"{'path':>24} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    rates = {}
    for mode in modes:
        outcome = await http_load.run(url + "/v1/events", headers, events.body, clients, seconds, mode)
        rates[mode] = outcome.per_second
        print(_row(f"POST /v1/events {mode}", outcome), flush=True)
    if batch_size:
        outcome = await http_load.run(
            url + "/v1/events:batch", headers, lambda: events.batch(batch_size), clients, seconds, "keepalive",
            items_of=accepted_in_batch,
        )  # fmt: skip
        rates["batch"] = outcome.per_second
        print(_row(f"batch of {batch_size} keepalive", outcome) + "  (latency of a whole batch)", flush=True)
    tps, latency = pgbench(target.dsn, clients, seconds, events.body().decode())
    print(f"{'pgbench same insert':>24} {tps:>9.0f} {latency:>8.1f} {'(mean)':>8}\n")
    for mode, rate in rates.items():
        print(f"{mode:>10} / pgbench: {rate / tps:.2f}")


async def backlog(target: Target) -> int:
    conn = await asyncpg.connect(target.dsn)
    try:
        schema = "gateway_" + region_of(target).replace("-", "_")
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
    finally:
        await conn.close()


async def drained(target: Target, timeout: float = DRAIN_TIMEOUT) -> str:
    """How fast the relay publishes what the clients left in the outbox. A partner catching up
    through the batch endpoint outruns it (every accepted event is durable, and waits there), so
    this is the rate at which a catch-up reaches the gate, while the gate and the recipients work."""
    left = start = await backlog(target)
    started = time.perf_counter()
    while left and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.5)
        left = await backlog(target)
    took = time.perf_counter() - started
    rate = f"{(start - left) / took:.0f} rows/s" if start else "-"
    return (
        f"outbox rows not yet published at the end: {start}; "
        f"the relay then published {start - left} in {took:.1f} s ({rate}), {left} left"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--modes", default="fresh,keepalive,httpx,httpx-each", help="comma-separated, of those above")
    parser.add_argument("--batch", action="store_true", help="also POST /v1/events:batch")
    parser.add_argument("--batch-size", type=int, default=500)
    add_stack_arguments(parser)
    args = parser.parse_args()
    with live_target(args, "bench-ingest", 24500) as target:
        modes = [m for m in args.modes.split(",") if m]
        asyncio.run(measure(target, args.clients, args.seconds, modes, args.batch_size if args.batch else None))
        print(asyncio.run(drained(target)))


if __name__ == "__main__":
    main()
