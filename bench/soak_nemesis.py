"""The soak's nemesis: the faults it injects into a running Stack, and how each is healed.

Every fault is `inject → hold → heal`; its end is the moment the healing action returned (the
broker serving again, PostgreSQL accepting connections, a killed process started again — its
start, not its readiness), and the recovery the checker reports is counted from there. The
kinds are dealt from a shuffled deck, so that a short run still sees each of them, in an order
the seed decides.

The Stack has no pause: a paused broker is SIGSTOPped through the pid file kafka.sh writes
($STATE/kafka/node-N/kafka.pid, the java process itself), then SIGCONTed.
"""

import asyncio
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from deploy.stack import Stack
from tests.support.faults import alive, pid_of, postgres

SECOND_GATE = "consent-b"  # another consent service, so a second gate replica in the gate's group
READY_TIMEOUT = 120


def second_gate_port(stack: Stack) -> int:
    return stack.service("consent").port + 1


def start_instance(stack: Stack, key: str) -> None:
    """Start a service process by its pid-file key (a service name, or the second gate)."""
    if key == SECOND_GATE:
        stack.start_service(
            "consent",
            instance=SECOND_GATE,
            port=second_gate_port(stack),
            extra_env={"SAMORDNA_GATE_INSTANCE_ID": "gate-1"},
        )
    else:
        stack.start_service(key)


def start_until_ready(stack: Stack, key: str, timeout: float = READY_TIMEOUT) -> float:
    """Start the process and wait until it is ready, starting it again if it exits first: our
    ports lie in the kernel's ephemeral range, so now and then an outgoing connection holds one
    and the new process cannot bind it. Returns when the start that stuck was made."""
    deadline = time.monotonic() + timeout
    started = time.time()
    while True:
        if not alive(pid_of(stack, key)):
            stack.stop_service(key, signal.SIGKILL)  # reaps a zombie, removes a stale pid file
            started = time.time()
            start_instance(stack, key)
        try:
            stack.wait_ready(instance_url(stack, key), timeout=5)
            return started
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def instance_url(stack: Stack, key: str) -> str:
    return f"http://127.0.0.1:{second_gate_port(stack)}" if key == SECOND_GATE else stack.url(key)


def instances(stack: Stack) -> list[str]:
    return [s.name for s in stack.services()] + [SECOND_GATE]


def broker_pid(stack: Stack, node: int) -> int | None:
    try:
        return int((stack.state_dir / "kafka" / f"node-{node}" / "kafka.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def resume_brokers(stack: Stack) -> None:
    """SIGCONT every broker: one left paused would neither serve nor stop."""
    for node in range(1, stack.kafka_nodes + 1):
        pid = broker_pid(stack, node)
        if pid is not None and Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGCONT)


# ---- our ports lie in the kernel's ephemeral range (32768-60999) ---------------------------
# A client reconnecting to such a port while nothing listens there can be given that very port
# as its own source port: a TCP self-connect (127.0.0.1:45092 <-> 127.0.0.1:45092, seen here
# again and again while the broker was down). That socket, and then its TIME-WAIT for 60 s,
# holds the port, and the restarted broker cannot bind it; any outgoing connection can take a
# service's port the same way. So the soak holds every port of its stack for the whole run with
# a socket that is bound with SO_REUSEADDR and never listens: the kernel never hands a bound
# port out as a source port, a connection to it is refused as before, and the broker, the
# services and PostgreSQL (each binds with SO_REUSEADDR) can still listen on it.
BROKER_START_SECONDS = 150


def stack_ports(stack: Stack) -> list[int]:
    kafka = [stack.kafka_port + i for i in range(2 * stack.kafka_nodes)]  # client and controller of each node
    http = [s.port for s in stack.services()] + [second_gate_port(stack)]
    return [*kafka, *http, stack.pg_port]


class PortHold:
    """Bound, never listening sockets on the stack's ports, for as long as the run lasts."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = ports
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> "PortHold":
        # A port can still be in the TIME-WAIT of an earlier run's self-connect, which no bind
        # gets past: wait that out (60 s at most) rather than start a broker that cannot bind.
        deadline = time.monotonic() + 70
        left = list(self._ports)
        while left:
            left = [port for port in left if not self._hold(port)]
            if left and time.monotonic() > deadline:
                print(f"ports still taken, not held: {left}", flush=True)
                break
            if left:
                time.sleep(1)
        return self

    def _hold(self, port: int) -> bool:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            return False
        self._sockets.append(sock)
        return True

    def __exit__(self, *exc) -> None:
        for sock in self._sockets:
            sock.close()


def start_brokers(stack: Stack, *nodes: int) -> None:
    """kafka.sh start, and again if it failed (a port still taken: see above)."""
    deadline = time.monotonic() + BROKER_START_SECONDS
    while True:
        try:
            stack.kafka("start", *nodes)
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def heal_all(stack: Stack) -> None:
    """Every broker running, PostgreSQL up, every process alive and ready."""
    resume_brokers(stack)
    start_brokers(stack)
    postgres(stack, "start")
    for key in instances(stack):
        start_until_ready(stack, key)


# ---- the faults: each injects, holds, heals and names its target ----------------------------
async def broker_stop(stack: Stack, rng: random.Random) -> tuple[str, float]:
    await asyncio.to_thread(stack.kafka, "stop")
    await asyncio.sleep(rng.uniform(5, 30))
    await asyncio.to_thread(start_brokers, stack)
    return "every broker", time.time()


async def broker_kill(stack: Stack, rng: random.Random) -> tuple[str, float]:
    await asyncio.to_thread(stack.kafka, "kill")
    await asyncio.sleep(rng.uniform(2, 20))
    await asyncio.to_thread(start_brokers, stack)
    return "every broker", time.time()


async def broker_pause(stack: Stack, rng: random.Random) -> tuple[str, float]:
    node = rng.randint(1, stack.kafka_nodes)
    pid = broker_pid(stack, node)
    if pid is None:
        raise RuntimeError(f"no pid file for kafka node {node}")
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(rng.uniform(5, 25))
    finally:
        os.kill(pid, signal.SIGCONT)
    return f"kafka node {node}", time.time()


async def broker_node_kill(stack: Stack, rng: random.Random) -> tuple[str, float]:
    node = rng.randint(1, stack.kafka_nodes)
    await asyncio.to_thread(stack.kafka, "kill", node)
    await asyncio.sleep(rng.uniform(5, 30))
    await asyncio.to_thread(start_brokers, stack, node)
    return f"kafka node {node}", time.time()


async def service_kill(stack: Stack, rng: random.Random) -> tuple[str, float]:
    key = rng.choice(instances(stack))
    await asyncio.to_thread(stack.stop_service, key, signal.SIGKILL)
    await asyncio.sleep(rng.uniform(0, 5))
    # its end is its restart, not its readiness: the time to be ready counts as recovery
    return key, await asyncio.to_thread(start_until_ready, stack, key)


async def postgres_restart(stack: Stack, rng: random.Random) -> tuple[str, float]:
    # immediate mode: no checkpoint, the next start recovers from the WAL, as after a crash
    await asyncio.to_thread(postgres, stack, "kill")
    await asyncio.sleep(rng.uniform(1, 10))
    await asyncio.to_thread(postgres, stack, "start")
    return "postgres", time.time()


FaultFn = Callable[[Stack, random.Random], Awaitable[tuple[str, float]]]  # (target, healed at)
SINGLE_NODE: dict[str, FaultFn] = {
    "broker_stop": broker_stop,
    "broker_kill": broker_kill,
    "broker_pause": broker_pause,
    "service_kill": service_kill,
    "postgres_restart": postgres_restart,
}
CLUSTER: dict[str, FaultFn] = SINGLE_NODE | {"broker_node_kill": broker_node_kill}


class Deck:
    """Fault kinds in a random order, each once per round."""

    def __init__(self, kinds: list[str], rng: random.Random) -> None:
        self._kinds, self._rng, self._left = kinds, rng, []

    def draw(self) -> str:
        if not self._left:
            self._left = self._rng.sample(self._kinds, len(self._kinds))
        return self._left.pop()


async def inject(stack: Stack, kind: str, rng: random.Random) -> tuple[str, float, float, str | None]:
    """Run one fault; (target, started_at, ended_at, error). A failed heal is healed the long way."""
    faults = CLUSTER if stack.kafka_nodes > 1 else SINGLE_NODE
    started_at = time.time()
    try:
        target, ended_at = await faults[kind](stack, rng)
        return target, started_at, ended_at, None
    except Exception as exc:  # the soak goes on, and the report shows it
        error = repr(exc)
    try:
        await asyncio.to_thread(heal_all, stack)
    except Exception as exc:
        error += f"; healing failed too: {exc!r}"
    return "?", started_at, time.time(), error
