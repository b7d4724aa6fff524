"""The model-based disclosure check, long: many rounds of random consents and events, every read
surface of every principal compared with the reference model (tests/support/disclosure.py).

    .venv/bin/python -m bench.disclosure --rounds 40 [--seed S] [--keep]
    .venv/bin/python -m bench.disclosure --rounds 40 --stack .local/stack.json   # a running stack

Without --stack it starts its own Kafka, PostgreSQL and services in .local/disclosure, on ports
27092 / 27432 / 27000+ (SAMORDNA_DISCLOSURE_KAFKA_PORT, _PG_PORT, _HTTP_BASE override them),
with the test suite's short timings. Rounds run in scenarios of --scenario-rounds rounds, each
with fresh persons and seed S, S+1, …; a mismatch names its scenario's seed. Prints rounds,
events, comparisons and mismatches; exits 1 if there was a mismatch.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from deploy.stack import REPO, Stack
from tests.support.disclosure import Report, new_seed, run_scenario

STATE = REPO / ".local" / "disclosure"
# The test suite's timings (tests/conftest.py): receipts overdue in 3 s, quick scans.
ENV = {
    "SAMORDNA_EXPIRY_SCAN_SECONDS": "1",
    "SAMORDNA_RECEIPT_DEADLINES": '{"se.samordna.joint.sip.requested.v1": "PT3S"}',
    "SAMORDNA_RECEIPT_SCAN_SECONDS": "0.5",
    "SAMORDNA_OPS_SCAN_SECONDS": "1",
    "SAMORDNA_WEBHOOK_FIRST_RETRY_SECONDS": "0.1",
    "SAMORDNA_WEBHOOK_MAX_RETRY_SECONDS": "0.5",
    "SAMORDNA_WEBHOOK_POLL_SECONDS": "0.25",
}


def own_stack() -> Stack:
    return Stack(
        state_dir=STATE,
        kafka_port=int(os.environ.get("SAMORDNA_DISCLOSURE_KAFKA_PORT", 27092)),
        pg_port=int(os.environ.get("SAMORDNA_DISCLOSURE_PG_PORT", 27432)),
        http_base_port=int(os.environ.get("SAMORDNA_DISCLOSURE_HTTP_BASE", 27000)),
        env=ENV,
    )


def start(stack: Stack) -> dict:
    """A fresh stack, the way tests/conftest.py starts the test suite's: leftovers of a run killed
    mid-way stopped, the state wiped, then `Stack.up`."""
    for pid_file in (stack.state_dir / "run").glob("*.pid"):
        stack.stop_service(pid_file.stem, signal.SIGKILL)
    if stack.state_dir.exists():
        stack.infrastructure("stop")
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    return stack.up()


def stop(stack: Stack) -> None:
    stack.down()


async def run(info: dict, args: argparse.Namespace) -> list[Report]:
    reports, done, seed = [], 0, args.seed
    while done < args.rounds:
        rounds = min(args.scenario_rounds, args.rounds - done)
        report = await run_scenario(info, seed, rounds, args.persons, args.events)
        print(report.summary(), flush=True)
        for mismatch in report.mismatches:
            print("  " + mismatch.describe(seed), flush=True)
        reports.append(report)
        done += rounds
        seed += 1
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=None, help="first scenario's seed (default: random)")
    parser.add_argument("--scenario-rounds", type=int, default=4, help="rounds per scenario (fresh persons each)")
    parser.add_argument("--persons", type=int, default=5, help="persons per scenario")
    parser.add_argument("--events", type=int, default=3, help="events per principal per round")
    parser.add_argument("--stack", type=Path, help="stack.json of a running stack, instead of starting one")
    parser.add_argument("--keep", action="store_true", help="leave the stack this script started running")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = new_seed()
    print(f"disclosure bench: first seed {args.seed}", flush=True)

    stack = None if args.stack else own_stack()
    info = json.loads(args.stack.read_text()) if args.stack else start(stack)
    try:
        reports = asyncio.run(run(info, args))
    finally:
        if stack is not None and not args.keep:
            stop(stack)
    mismatches = sum(len(r.mismatches) for r in reports)
    print(
        f"total: rounds {sum(r.rounds for r in reports)}, events {sum(r.events for r in reports)}, "
        f"comparisons {sum(r.comparisons for r in reports)}, mismatches {mismatches}"
    )
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
