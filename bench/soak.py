"""The fault soak: the whole stack under load while a nemesis breaks it, then a history checker.

    .venv/bin/python -m bench.soak --minutes 5 [--cluster] [--seed S] [--keep]
    .venv/bin/python -m bench.soak --check .local/soak/history-S.json   # only check a saved run

In the spirit of Kafka's transactions_test.py and Jepsen: a fresh stack of its own (Kafka on
45092, or 45092/45094/45096 with --cluster; PostgreSQL on 45432; services from 45000; a second
gate replica on 45011; state in .local/soak/stack), partner systems posting from every
principal, coordinators granting and revoking consents, and a nemesis that stops, kills and
pauses the broker (one broker of three with --cluster), SIGKILLs any service and restarts
PostgreSQL. After each fault, canary events measure how long until deliveries flow again.
Then the nemesis stops, everything is healed and settles, and what the system holds is read
into a history (.local/soak/history-S.json) that bench/soak_checker.py judges.
Exits 1 when an event was lost or leaked, one is in an inbox twice, or recovery took 60 s or more.
See docs/soak.md.
"""

import argparse
import asyncio
import random
import shutil
import signal
import sys
import time
from pathlib import Path

from bench import soak_collect
from bench.soak_checker import check, recipient_of
from bench.soak_history import Fault, History
from bench.soak_nemesis import (
    CLUSTER,
    SINGLE_NODE,
    Deck,
    PortHold,
    heal_all,
    inject,
    instances,
    resume_brokers,
    stack_ports,
    start_instance,
    start_until_ready,
)
from bench.soak_workload import PRINCIPALS, Workload
from deploy.stack import REPO, Stack
from tests.support.client import StackClient

STATE = REPO / ".local" / "soak"
QUIET_SECONDS = (5, 20)  # between one fault's recovery and the next fault
CANARY_WAIT = 90  # seconds a fault's canaries are waited for before the next fault
SETTLE_TIMEOUT = 180
PARTNERS_PER_PRINCIPAL = 2


def make_stack(cluster: bool) -> Stack:
    return Stack(
        state_dir=STATE / "stack",
        kafka_port=45092,
        pg_port=45432,
        http_base_port=45000,
        kafka_nodes=3 if cluster else 1,
    )


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:6.0f} s] {message}", flush=True)


def start_fresh(stack: Stack, clock: Clock) -> None:
    if stack.state_dir.exists():  # leftovers of a run killed mid-way
        for pid_file in (stack.state_dir / "run").glob("*.pid"):
            stack.stop_service(pid_file.stem, signal.SIGKILL)
        stack.down()
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    clock.say(f"starting a fresh stack ({stack.kafka_nodes} broker(s)) in {stack.state_dir}")
    stack.infrastructure("start")
    stack.create_topics()
    stack.grant_access()
    for key in instances(stack):
        start_instance(stack, key)
    for key in instances(stack):
        start_until_ready(stack, key)


async def nemesis(stack: Stack, work: Workload, rng: random.Random, deadline: float, clock: Clock) -> None:
    deck = Deck(sorted(CLUSTER if stack.kafka_nodes > 1 else SINGLE_NODE), rng)
    while True:
        await asyncio.sleep(rng.uniform(*QUIET_SECONDS))
        if time.monotonic() >= deadline:
            return
        kind = deck.draw()
        target, started_at, ended_at, error = await inject(stack, kind, rng)
        clock.say(f"{kind} {target}: {ended_at - started_at:.1f} s" + (f", failed: {error}" if error else ""))
        canaries = await work.canaries_after_fault()
        work.history.faults.append(Fault(kind, target, started_at, ended_at, canaries, error))
        recovered = await work.all_seen(canaries, CANARY_WAIT)
        seen = [work.history.first_seen.get(c) for c in canaries]
        clock.say(
            f"  deliveries flowed again {max(seen) - ended_at:.1f} s after it ended"
            if recovered
            else f"  {sum(s is None for s in seen)} of {len(canaries)} canaries not delivered within {CANARY_WAIT} s"
        )


async def settle(stack: Stack, work: Workload, clock: Clock) -> None:
    """Until every event that must cross has been seen and every accepted event is in the audit."""
    history = work.history
    consent_of = {c.person: c for c in work.recorded_consents()}
    must_cross = {
        e.id
        for e in history.accepted
        if e.accepted_at
        and (c := consent_of.get(e.person)) is not None
        and c.revoke_started is None
        and recipient_of(e, c)
    }
    accepted = {e.id for e in history.accepted if e.accepted_at}
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        decided = {d.event_id for d in await soak_collect.audit(stack)}
        if must_cross <= history.first_seen.keys() and accepted <= decided:
            clock.say("settled: every event that must cross has arrived, every event is in the audit")
            return
        await asyncio.sleep(2)
    unseen = len(must_cross - history.first_seen.keys())
    clock.say(f"not settled within {SETTLE_TIMEOUT} s: {unseen} events that must cross not in an inbox")


async def soak(stack: Stack, history: History, minutes: float, clock: Clock) -> None:
    rng = random.Random(history.seed)
    client = StackClient(stack.stack_info())
    work = Workload(client, history, random.Random(rng.randrange(2**32)))
    watchers: list[asyncio.Task] = []
    clients: list[asyncio.Task] = []
    try:
        await work.setup()
        watchers = [asyncio.create_task(work.watch_inbox(p)) for p in PRINCIPALS]
        clients = [asyncio.create_task(work.partner(p)) for p in PRINCIPALS for _ in range(PARTNERS_PER_PRINCIPAL)]
        clients.append(asyncio.create_task(work.coordinators()))
        history.started_at = time.time()
        clock.say(f"clients and nemesis running for {minutes} min (seed {history.seed})")
        await nemesis(stack, work, rng, time.monotonic() + minutes * 60, clock)
        history.nemesis_ended_at = time.time()
        work.stopping.set()
        clock.say("nemesis off; waiting for the clients' last posts")
        await asyncio.gather(*clients)
        try:
            await asyncio.to_thread(heal_all, stack)
        except Exception as exc:  # settle and check anyway: what did not heal shows in the figures
            clock.say(f"not healed: {exc!r}")
        await settle(stack, work, clock)
        history.consents = work.recorded_consents()  # the collection below may fail; these are kept
        clock.say("reading every inbox, the deliveries topics and the audit")
        await soak_collect.collect(stack, client, history, list(PRINCIPALS))
    finally:
        work.stopping.set()
        for task in [*watchers, *clients]:
            task.cancel()
        history.consents = work.recorded_consents()
        await client.close()


def report_on(path: Path) -> int:
    report = check(History.load(path))
    print(report.render())
    return 1 if report.failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--cluster", action="store_true", help="three brokers, one of them killed now and then")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    parser.add_argument("--check", type=Path, help="only check a history file written by an earlier run")
    args = parser.parse_args()
    if args.check:
        sys.exit(report_on(args.check))

    seed = args.seed if args.seed is not None else random.randrange(2**32)
    history = History(seed=seed, minutes=args.minutes, cluster=args.cluster)
    path = STATE / f"history-{seed}.json"
    stack, clock = make_stack(args.cluster), Clock()
    with PortHold(stack_ports(stack)):
        run(stack, history, path, args, clock)
    print(f"\nsoak of {args.minutes} min, seed {seed}{', 3 brokers' if args.cluster else ''}:")
    sys.exit(report_on(path))


def run(stack: Stack, history: History, path: Path, args: argparse.Namespace, clock: Clock) -> None:
    try:
        start_fresh(stack, clock)
        try:
            asyncio.run(soak(stack, history, args.minutes, clock))
        finally:  # a run cut short still leaves what it recorded
            history.save(path)
            clock.say(f"history written to {path}")
    finally:
        if not args.keep:
            resume_brokers(stack)
            stack.down()


if __name__ == "__main__":
    main()
