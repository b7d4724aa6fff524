"""Benchmark: end to end under a steady load — from the gateway's 202 to the recipient's inbox
row and to a webhook receiver on loopback.

    .venv/bin/python -m bench.e2e [--rates 200,1000] [--seconds 20] [--persons 200]
                                  [--senders region-14,kommun-1489] [--stack .local/stack.json] [--keep]

Starts a whole stack of its own (state in .local/bench-e2e, Kafka 24792, PostgreSQL 25132,
services from 24700; SAMORDNA_BENCH_STATE_DIR, _KAFKA_PORT, _PG_PORT, _HTTP_BASE override
them), or uses a running one (`--stack`, e.g. one started with a county's principals file).
`--persons` persons get a consent naming every sender and the first other principal, which
also subscribes a webhook receiver on 127.0.0.1. Then, for each rate, the senders post events
(open loop: one every 1/rate s, spread over the senders, over kept connections) for `--seconds`,
and the bench waits until every accepted event is in the recipients' inboxes and at the receiver.
Latency to the inbox is the inbox row's `received_at` minus the 202's `accepted_at` (both the
services' clocks on this machine); to the webhook, the receiver's clock at arrival minus
`accepted_at`. The receiver (bench/webhooks_receiver.py) is a process of its own on a free port,
which verifies every signature and keeps HTTP connections alive, as a partner's server does; in
the benchmark's own process it shared a core and the GIL with the load generator. Per rate it
also prints the CPU each process of the stack (and the receiver) used, the requests each sent to
Kafka and to PostgreSQL per event, and where the inbox latency went, stage by stage (bench/cpu.py,
bench/wire.py, bench/stages.py).
"""

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from bench import stages, webhooks_receiver, wire
from bench.cpu import StackCPU, report
from bench.http_load import RawClient
from bench.live_stack import Target, add_stack_arguments, live_target
from tests.support.client import event
from tests.support.personnummer import random_person_id

TYPES = {"region": "se.samordna.region.visit.missed.v1", "kommun": "se.samordna.municipality.intervention.missed.v1"}
CONNECTIONS = 32  # kept connections per sender
ARRIVAL_TIMEOUT = 120.0
SECRET = "bench-e2e-secret-0123456789"  # noqa: S105 (the receiver's, on loopback)


@dataclass
class Run:
    accepted_at: dict[str, float] = field(default_factory=dict)  # event id -> epoch seconds
    sender: dict[str, str] = field(default_factory=dict)  # event id -> its sender
    refused: int = 0
    late_sends: int = 0  # sends that started more than 50 ms after their slot (the client fell behind)
    bad_signatures: int = 0  # webhook requests whose signature did not verify
    inbox: dict[tuple[str, str], float] = field(default_factory=dict)  # (recipient, id) -> received_at
    webhook: dict[tuple[str, str], float] = field(default_factory=dict)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def grant_consents(target: Target, persons: list[str], parties: list[str]) -> None:
    region = next(p for p in parties if p.startswith("region-"))
    headers = {"Authorization": f"Bearer {target.token(region, 'coordinator')}"}
    today = datetime.now().date().isoformat()
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        for person in persons:
            body = {"person": person, "parties": parties, "valid_from": today, "form": "written"}
            response = await http.post(target.services["consent"] + "/v1/consents", json=body)
            response.raise_for_status()


SUBSCRIPTION_FOUND_SECONDS = 2.5  # the dispatcher's poll (1 s by default), twice, and some


@contextlib.asynccontextmanager
async def subscribed(target: Target, recipients: list[str], receiver: str):
    """A webhook subscription of each recipient to the receiver, deleted again at the end: left on
    a stack that outlives the run (`--stack`, `--keep`), each would go on retrying its deliveries
    to a receiver that is gone, and tax every later measurement on that stack."""
    made: list[tuple[str, str]] = []
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            for recipient in recipients:
                response = await http.post(
                    target.services[recipient] + "/v1/subscriptions",
                    json={"url": f"{receiver}/{recipient}", "secret": SECRET},
                    headers=_system(target, recipient),
                )
                response.raise_for_status()
                made.append((recipient, response.json()["id"]))
            # A gateway's dispatcher looks for new subscriptions every SAMORDNA_WEBHOOK_POLL_SECONDS
            # (1 s): an event sent before it found this one waited for it, which is a subscription's
            # first second, not the webhook path (it had made the first rate's webhook p99 0.4-0.8 s).
            await asyncio.sleep(SUBSCRIPTION_FOUND_SECONDS)
            yield
        finally:
            for recipient, subscription_id in made:
                response = await http.delete(
                    f"{target.services[recipient]}/v1/subscriptions/{subscription_id}",
                    headers=_system(target, recipient),
                )
                if response.status_code != 204:
                    print(f"!! {recipient}: subscription {subscription_id} not deleted ({response.status_code})")


def _system(target: Target, principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.token(principal)}"}


async def offer(target: Target, senders: list[str], persons: list[str], rate: float, seconds: float, run: Run) -> None:
    """One event every 1/rate s, round-robin over the senders, each with its pool of connections."""
    rng = random.Random(rate)
    pools = {
        s: [RawClient(target.services[s] + "/v1/events", {"Authorization": f"Bearer {target.token(s)}"}, True)
            for _ in range(CONNECTIONS)]
        for s in senders
    }  # fmt: skip
    idle = {s: asyncio.Queue() for s in senders}
    for s, clients in pools.items():
        for c in clients:
            idle[s].put_nowait(c)

    async def send(sender: str, slot: float) -> None:
        client = await idle[sender].get()
        try:
            if time.perf_counter() - slot > 0.05:
                run.late_sends += 1
            body = event(TYPES[sender.split("-")[0]], rng.choice(persons))
            status, answer = await client.post(json.dumps(body).encode())
            if status == 202:
                run.accepted_at[body["id"]] = _epoch(json.loads(answer)["accepted_at"])
                run.sender[body["id"]] = sender
            else:
                run.refused += 1
        finally:
            idle[sender].put_nowait(client)

    tasks, start, count = [], time.perf_counter(), int(rate * seconds)
    for i in range(count):
        slot = start + i / rate
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        tasks.append(asyncio.create_task(send(senders[i % len(senders)], slot)))
    await asyncio.gather(*tasks)
    for clients in pools.values():
        for c in clients:
            await c.close()


async def read_inboxes(target: Target, cursors: dict[str, int], run: Run, stop_when) -> None:
    """Every recipient's inbox after `cursors`, page after page, until `stop_when()`; received_at per event."""
    recipients = list(cursors)
    async with httpx.AsyncClient(timeout=30) as http:
        while not stop_when():
            progressed = False
            for r in recipients:
                response = await http.get(
                    target.services[r] + "/v1/inbox",
                    params={"after": cursors[r], "limit": 1000},
                    headers={"Authorization": f"Bearer {target.token(r)}"},
                )
                page = response.json()["events"]
                for item in page:
                    run.inbox[(r, item["event"]["id"])] = _epoch(item["received_at"])
                if page:
                    cursors[r], progressed = page[-1]["seq"], True
            if not progressed:
                await asyncio.sleep(0.25)


def _stats(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return f"{'-':>7} {'-':>7} {'-':>7} {'-':>7}"
    q = statistics.quantiles(latencies, n=100)
    return f"{q[49] * 1000:>7.0f} {q[94] * 1000:>7.0f} {q[98] * 1000:>7.0f} {max(latencies) * 1000:>7.0f}"


async def measure(target: Target, senders: list[str], rates: list[float], seconds: float, persons: int) -> None:
    others = [p for p in target.services if p not in (*senders, "consent", "board")]
    recipient_extra = others[:1] if others else []
    parties = senders + recipient_extra
    recipients = parties if len(senders) > 1 else recipient_extra
    people = [random_person_id(random.Random(i)) for i in range(persons)]
    print(f"{persons} persons, consents naming {', '.join(parties)}; senders {', '.join(senders)}; "
          f"recipients {', '.join(recipients)} (inbox and a webhook each)")  # fmt: skip
    await grant_consents(target, people, parties)
    run = Run()
    receiver_log = target.state_dir / "logs" / "bench-e2e-receiver.log"
    receiver_log.parent.mkdir(parents=True, exist_ok=True)
    async with (
        webhooks_receiver.running(SECRET, receiver_log, by_path=True) as (receiver, process),
        httpx.AsyncClient(base_url=receiver, timeout=30) as arrivals,
        subscribed(target, recipients, receiver),
    ):

        async def collect_arrivals() -> None:
            """What reached the receiver since the last ask, into run.webhook (the first arrival each)."""
            answer = (await arrivals.get("/arrivals")).json()
            run.bad_signatures += answer["bad_signatures"]
            for key, at in answer["arrivals"].items():
                recipient, event_id = key.split(" ", 1)
                run.webhook.setdefault((recipient, event_id), at)

        cpu = StackCPU(target.state_dir, {"webhook receiver": process.pid})
        ports = wire.server_ports(target.kafka_bootstrap, target.dsn)
        print(f"\n{'rate/s':>7} {'sent/s':>7} {'accepted':>8} {'to':>8} {'arrived':>8} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")  # fmt: skip
        for rate in rates:
            await collect_arrivals()  # what came after the last rate's end is not this rate's
            for collected in (run.accepted_at, run.sender, run.inbox, run.webhook):
                collected.clear()
            run.refused = run.late_sends = run.bad_signatures = 0
            done = asyncio.Event()
            cursors = await stages.inbox_ends(target.dsn, recipients)
            reader = asyncio.create_task(read_inboxes(target, cursors, run, done.is_set))
            started, cpu_before, wire_before = time.perf_counter(), cpu.snapshot(), wire.read()
            await offer(target, senders, people, rate, seconds, run)
            sent_rate = (len(run.accepted_at) + run.refused) / (time.perf_counter() - started)
            wanted = _wanted(run, recipients, senders)
            deadline = time.monotonic() + ARRIVAL_TIMEOUT
            while time.monotonic() < deadline and not (wanted <= run.inbox.keys() and wanted <= run.webhook.keys()):
                await asyncio.sleep(0.25)
                await collect_arrivals()
            done.set()
            await reader
            used, wall = StackCPU.since(cpu_before, cpu.snapshot()), time.perf_counter() - started
            requests = wire.sent(wire_before, wire.read(), cpu.pids(), ports)
            for surface, seen in (("inbox", run.inbox), ("webhook", run.webhook)):
                latencies = [seen[k] - run.accepted_at[k[1]] for k in wanted if k in seen]
                print(f"{rate:>7.0f} {sent_rate:>7.0f} {len(run.accepted_at):>8} {surface:>8} "
                      f"{sum(k in seen for k in wanted):>8} {_stats(latencies)}", flush=True)  # fmt: skip
            if run.refused or run.late_sends:
                print(f"        refused: {run.refused}; sends more than 50 ms behind their slot: {run.late_sends}")
            if run.bad_signatures:
                print(f"        !! {run.bad_signatures} webhook requests with a signature that did not verify")
            print(f"      CPU over the {wall:.0f} s of sending and arriving:")
            print(report(used, len(run.accepted_at), wall))
            print(wire.report(requests, len(run.accepted_at)))
            inbox_recipients = sorted({r for r, _ in wanted})
            print("      the inbox latency by stage:\n" + await stages.breakdown(
                target.dsn, senders, inbox_recipients, list(run.accepted_at)), flush=True)  # fmt: skip


def _wanted(run: Run, recipients: list[str], senders: list[str]) -> set[tuple[str, str]]:
    """(recipient, event id) of every delivery that must happen: each accepted event to every
    recipient but its sender."""
    return {(r, i) for i, s in run.sender.items() for r in recipients if r != s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="200,1000", help="offered events per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--senders", help="sending principals, comma-separated (default: the region)")
    add_stack_arguments(parser)
    args = parser.parse_args()
    with live_target(args, "bench-e2e", 24700) as target:
        senders = args.senders.split(",") if args.senders else [p for p in target.services if p.startswith("region-")]
        rates = [float(r) for r in args.rates.split(",")]
        print(f"settings: rates {args.rates}/s for {args.seconds:.0f} s each, {CONNECTIONS} connections per sender")
        asyncio.run(measure(target, senders, rates, args.seconds, args.persons))


if __name__ == "__main__":
    main()
