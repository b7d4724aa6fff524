"""The whole stack for a live benchmark (bench.ingest, bench.e2e), or the one already running.

A benchmark either starts a fresh stack of its own — Kafka, PostgreSQL, topics, ACLs and every
service, as the tests do (deploy/stack.py) — on ports and in a state directory that
SAMORDNA_BENCH_KAFKA_PORT, SAMORDNA_BENCH_PG_PORT, SAMORDNA_BENCH_HTTP_BASE and
SAMORDNA_BENCH_STATE_DIR override, or reads what `make up` wrote (`--stack .local/stack.json`).
It also says what every benchmark prints first: the machine, its load, the commit.
`add_stack_arguments` and `live_target` are that choice and that header, for each benchmark's `main`.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.stack import REPO, Stack

READY_TIMEOUT = 180  # seconds for a service to answer /readyz: on a busy shared machine, 60 is not enough


@dataclass(frozen=True)
class Target:
    """What a benchmark needs of a running stack: its services' URLs, tokens and database, and the
    state directory its stack.json is in (the services' pid files: bench/cpu.py)."""

    services: dict[str, str]
    tokens: dict[str, dict[str, str]]
    dsn: str
    state_dir: Path
    kafka_bootstrap: str

    @classmethod
    def of(cls, info: dict, state_dir: Path) -> "Target":
        return cls(info["services"], info["tokens"], info["postgres"]["dsn"], state_dir, info["kafka"]["bootstrap"])

    def token(self, principal: str, role: str = "system") -> str:
        return self.tokens[principal][role]


def bench_stack(default_state: str, default_base: int, env: dict[str, str] | None = None) -> Stack:
    """A stack on the benchmark's ports (each overridable by its SAMORDNA_BENCH_* variable)."""
    state = Path(os.environ.get("SAMORDNA_BENCH_STATE_DIR", REPO / ".local" / default_state))
    return Stack(
        state_dir=state,
        kafka_port=int(os.environ.get("SAMORDNA_BENCH_KAFKA_PORT", default_base + 92)),
        pg_port=int(os.environ.get("SAMORDNA_BENCH_PG_PORT", default_base + 432)),
        http_base_port=int(os.environ.get("SAMORDNA_BENCH_HTTP_BASE", default_base)),
        env={"SAMORDNA_WEBHOOK_ALLOW_LOOPBACK": "true", **(env or {})},
    )


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", type=Path, help="a running stack's stack.json (make up: .local/stack.json)")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's stack running")


@contextmanager
def live_target(args: argparse.Namespace, default_state: str, default_base: int) -> Iterator[Target]:
    """The machine's header, then the stack `--stack` names, or a fresh one of the benchmark's own
    (bench_stack) that is stopped afterwards unless `--keep` says otherwise."""
    print(machine())
    if args.stack:
        yield Target.of(json.loads(args.stack.read_text()), args.stack.parent)
        return
    stack = bench_stack(default_state, default_base)
    print(f"starting a fresh stack in {stack.state_dir} (Kafka {stack.kafka_port}, PostgreSQL {stack.pg_port})")
    try:
        yield start_fresh(stack)
    finally:
        if not args.keep:
            stop(stack)


def start_fresh(stack: Stack) -> Target:
    """Kafka, PostgreSQL and every service, from an empty state directory."""
    for pid_file in (stack.state_dir / "run").glob("*.pid"):  # leftovers of a run killed mid-way
        stack.stop_service(pid_file.stem, signal.SIGKILL)
    if stack.state_dir.exists():
        stack.infrastructure("stop")
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    stack.infrastructure("start")
    stack.create_topics()
    stack.grant_access()
    for service in stack.services():
        stack.start_service(service.name)
    for service in stack.services():
        stack.wait_ready(stack.url(service.name), READY_TIMEOUT)
    return Target.of(stack.write_stack_json(), stack.state_dir)


def stop(stack: Stack) -> None:
    for key in stack.processes.keys():
        stack.stop_service(key)
    stack.infrastructure("stop")


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown (no git)"
    return subprocess.run([git, "-C", str(REPO), *args], capture_output=True, text=True, check=False).stdout.strip()


def machine() -> str:
    """Cores, load and commit: the first line of every benchmark's output."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = _git("log", "-1", "--format=%h %s")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return (
        f"machine: {os.cpu_count()} cores, load average {load} (a shared machine: compare ratios within one run)\n"
        f"commit: {commit[:100]}{' (with uncommitted changes)' if dirty else ''}"
    )
