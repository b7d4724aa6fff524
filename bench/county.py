"""Benchmark: a whole county on one machine — Region Örebro län and its twelve municipalities.

    .venv/bin/python -m bench.county [--rates 20,100] [--seconds 20] [--persons 4] [--no-keycloak] [--keep]

Starts the stack of deploy/principals-orebro.json the way `make up` does (`Stack.up`: Kafka,
PostgreSQL, Keycloak with a realm per organisation, every topic, Kafka user and ACL, then the
consent service, thirteen gateways and the board, each its own process), on its own ports and
state directory (SAMORDNA_BENCH_KAFKA_PORT / _PG_PORT / _HTTP_BASE / _KEYCLOAK_PORT / _STATE_DIR,
defaults 22092 / 22432 / 22000 / 22800 / .local/bench-county). Prints:
  - the time of each start-up step;
  - memory per process and in total, RSS and PSS (/proc/<pid>/smaps_rollup: PSS shares what
    processes share, so the PSS total is what they cost together), after start and after the load;
  - end to end under a steady offered load from every principal: each sends in turn about persons
    whose consent names it and a partner (the region about every municipality's persons, each
    municipality about its own), at each rate of `--rates` (events/s, all principals together) for
    `--seconds`; latency from the gateway's `accepted_at` (its 202) to the recipient's inbox row
    (`received_at`), both on this machine's clock: p50 / p95 / p99 / max, and how many arrived.
"""

import argparse
import asyncio
import os
import random
import shutil
import statistics
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench import stages
from bench.board import machine
from deploy.layout import REPO
from deploy.stack import Stack
from tests.support.client import StackClient, event
from tests.support.personnummer import random_person_id

PRINCIPALS_FILE = "deploy/principals-orebro.json"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"


def county_stack() -> Stack:
    os.environ["SAMORDNA_PRINCIPALS"] = PRINCIPALS_FILE  # read by deploy.layout, as by `make up`
    env = os.environ.get
    state = Path(env("SAMORDNA_BENCH_STATE_DIR", REPO / ".local" / "bench-county"))
    return Stack(
        state_dir=state,
        kafka_port=int(env("SAMORDNA_BENCH_KAFKA_PORT", 22092)),
        pg_port=int(env("SAMORDNA_BENCH_PG_PORT", 22432)),
        http_base_port=int(env("SAMORDNA_BENCH_HTTP_BASE", 22000)),
        keycloak_port=int(env("SAMORDNA_BENCH_KEYCLOAK_PORT", 22800)),
        keycloak_state_dir=state.with_name(f"{state.name}-keycloak"),  # kept: its realms are made idempotently
        env={"SAMORDNA_WEBHOOK_ALLOW_LOOPBACK": "true"},
    )


def timed(name: str, step, timings: dict) -> None:
    started = time.perf_counter()
    step()
    timings[name] = time.perf_counter() - started
    print(f"  {name:<40} {timings[name]:6.1f} s", flush=True)


def start(stack: Stack, keycloak: bool) -> dict[str, float]:
    """`Stack.up`, step by step, each timed."""
    timings: dict[str, float] = {}
    print("start-up:")
    timed("Kafka and PostgreSQL", lambda: stack.infrastructure("start"), timings)
    if keycloak:
        timed("Keycloak", lambda: stack.identity_provider.script("start"), timings)
    timed("topics", stack.create_topics, timings)
    timed("Kafka users and ACLs", stack.grant_access, timings)
    if keycloak:
        timed(f"Keycloak realms ({len(stack.principals)})", stack.provision_identity_provider, timings)

    def services() -> None:
        for service in stack.services():
            stack.start_service(service.name)
        for service in stack.services():
            stack.wait_ready(stack.url(service.name), timeout=300)

    timed(f"{len(stack.services())} service processes until ready", services, timings)
    stack.write_stack_json()
    print(f"  {'total':<40} {sum(timings.values()):6.1f} s")
    return timings


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return fields["Rss"], fields["Pss"]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def processes(stack: Stack) -> dict[str, list[int]]:
    """Each part's pids: the services, Kafka, PostgreSQL (its postmaster and every backend), Keycloak."""
    parts = {s.name: [stack.processes.pid(s.name)] for s in stack.services() if stack.running(s.name)}
    kafka = stack.state_dir / "kafka" / "node-1" / "kafka.pid"
    if kafka.exists():
        parts["kafka"] = [int(kafka.read_text())]
    postmaster = stack.state_dir / "postgres" / "data" / "postmaster.pid"
    if postmaster.exists():
        pid = int(postmaster.read_text().split()[0])
        parts["postgres"] = [pid, *_children(pid)]
    keycloak = stack.identity_provider.state_dir / "keycloak.pid"
    if keycloak.exists():
        pid = int(keycloak.read_text())  # kc.sh, whose child is Keycloak's JVM
        parts["keycloak"] = [pid, *_children(pid)]
    return parts


def print_memory(stack: Stack, when: str) -> None:
    print(f"\nmemory {when} (MB):")
    print(f"  {'process':<16} {'RSS':>8} {'PSS':>8}")
    totals, services = [0, 0], [0, 0]
    for name, pids in processes(stack).items():
        try:
            rss, pss = (sum(x) for x in zip(*(_memory_kb(p) for p in pids), strict=True))
        except (FileNotFoundError, ProcessLookupError):
            continue
        label = f"{name} ({len(pids)})" if len(pids) > 1 else name
        print(f"  {label:<16} {rss / 1024:8.0f} {pss / 1024:8.0f}")
        totals = [totals[0] + rss, totals[1] + pss]
        if name not in ("kafka", "postgres", "keycloak"):
            services = [services[0] + rss, services[1] + pss]
    print(f"  {'services':<16} {services[0] / 1024:8.0f} {services[1] / 1024:8.0f}")
    print(f"  {'all':<16} {totals[0] / 1024:8.0f} {totals[1] / 1024:8.0f}")


async def consents(client: StackClient, stack: Stack, per: int) -> list[tuple[str, str, str]]:
    """(sender, person, recipient) streams: every municipality and the region, about shared persons."""
    streams = []
    for municipality in stack.municipalities:
        for _ in range(per):
            person = random_person_id()
            await client.grant(municipality, person, [stack.region, municipality])
            streams += [(municipality, person, stack.region), (stack.region, person, municipality)]
    return streams


async def offered_load(client: StackClient, streams: list, rate: float, seconds: float) -> tuple[dict, int]:
    """Posts `rate` events/s for `seconds`, on schedule (open loop); event id -> (recipient, accepted_at)."""
    accepted: dict[str, tuple[str, datetime]] = {}
    refused = 0
    order = list(streams)
    random.shuffle(order)
    by_sender: dict[str, list] = {}
    for stream in order:
        by_sender.setdefault(stream[0], []).append(stream)
    senders = sorted(by_sender)  # one sender after the other, so every principal sends its share

    async def one(i: int) -> None:
        nonlocal refused
        sender = senders[i % len(senders)]
        _, person, recipient = by_sender[sender][(i // len(senders)) % len(by_sender[sender])]
        kind = VISIT_MISSED if sender.startswith("region-") else INTERVENTION_DECIDED
        body = event(kind, person)
        response = await client.post_event(sender, body)
        if response.status_code == 202:
            accepted[body["id"]] = (recipient, datetime.fromisoformat(response.json()["accepted_at"]))
        else:
            refused += 1

    loop = asyncio.get_running_loop()
    begin, tasks = loop.time(), []
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + i / rate - loop.time()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return accepted, refused


async def arrivals(client: StackClient, accepted: dict, after: dict[str, int], timeout: float) -> dict[str, datetime]:
    """event id -> received_at in its recipient's inbox, read on from `after` (each inbox's end
    before the rate), waiting up to `timeout` for the last."""
    cursors = {r: after.get(r, 0) for r, _ in accepted.values()}
    deadline = time.monotonic() + timeout
    received: dict[str, datetime] = {}
    while True:
        for recipient, cursor in cursors.items():
            while page := (await client.inbox(recipient, after=cursor))["events"]:
                for item in page:
                    if item["event"]["id"] in accepted:
                        received[item["event"]["id"]] = datetime.fromisoformat(item["received_at"])
                cursor = cursors[recipient] = page[-1]["seq"]
        if len(received) == len(accepted) or time.monotonic() > deadline:
            return received
        await asyncio.sleep(1)


async def load(stack: Stack, rates: list[float], seconds: float, per: int) -> None:
    client = StackClient(stack.stack_info())
    client.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64))
    try:
        streams = await consents(client, stack, per)
        print(f"\nend to end, {len(stack.principals)} principals sending, {len(streams)} streams (ms):")
        print(f"  {'offered/s':>9} {'accepted':>8} {'refused':>7} {'arrived':>7} "
              f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")  # fmt: skip
        for rate in rates:
            ends = await stages.inbox_ends(stack.dsn, list(stack.principals))
            accepted, refused = await offered_load(client, streams, rate, seconds)
            received = await arrivals(client, accepted, ends, timeout=120)
            took = sorted((received[i] - at).total_seconds() * 1000 for i, (_, at) in accepted.items() if i in received)
            q = statistics.quantiles(took, n=100, method="inclusive") if len(took) > 1 else [0.0] * 99
            print(f"  {rate:>9.0f} {len(accepted):>8} {refused:>7} {len(received):>7} "
                  f"{q[49]:>7.0f} {q[94]:>7.0f} {q[98]:>7.0f} {max(took, default=0):>7.0f}", flush=True)  # fmt: skip
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="20,100", help="offered events/s, all principals together")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--persons", type=int, default=4, help="persons per municipality with a consent")
    parser.add_argument("--no-keycloak", action="store_true", help="leave Keycloak out (make up starts it)")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args()
    stack = county_stack()
    print(machine())
    print(f"settings: {PRINCIPALS_FILE} ({len(stack.principals)} principals), rates {args.rates}, "
          f"{args.seconds:.0f} s each, {args.persons} persons per municipality, "
          f"keycloak {'no' if args.no_keycloak else 'yes'}; kafka {stack.kafka_port}, postgres {stack.pg_port}, "
          f"http {stack.http_base_port}")  # fmt: skip
    if stack.state_dir.exists():  # leftovers of a run stopped mid-way; then a fresh start, as a first `make up`
        stack.down()
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    try:
        start(stack, keycloak=not args.no_keycloak)
        print_memory(stack, "after start-up")
        asyncio.run(load(stack, [float(r) for r in args.rates.split(",")], args.seconds, args.persons))
        print_memory(stack, "after the load")
    finally:
        if not args.keep:
            stack.down()


if __name__ == "__main__":
    main()
