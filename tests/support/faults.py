"""Helpers for the fault tests: the database behind the stack, killing and restarting service
processes, posting until accepted, and counting what arrived."""

import asyncio
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from deploy.stack import Stack
from tests.support.client import StackClient, eventually

READY_TIMEOUT = 120  # after a broker restart the consumers may take a while to rejoin their groups


def pid_of(stack: Stack, key: str) -> int | None:
    pid_file = stack.state_dir / "run" / f"{key}.pid"
    try:
        return int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    """A live process: not gone and not a zombie (a service that exited is our unreaped child)."""
    if pid is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def start_ready(stack: Stack, name: str, timeout: float = READY_TIMEOUT) -> None:
    """Start the service (if its process is not alive) and wait until /readyz answers 200."""
    if not alive(pid_of(stack, name)):
        stack.stop_service(name, signal.SIGKILL)  # reaps a zombie and removes the stale pid file
        stack.start_service(name)
    stack.wait_ready(stack.url(name), timeout)


async def kill_and_restart(stack: Stack, name: str) -> None:
    """SIGKILL the service's process, then start it again and wait until it is ready."""
    await asyncio.to_thread(stack.stop_service, name, signal.SIGKILL)
    await asyncio.to_thread(start_ready, stack, name)


def heal(stack: Stack) -> None:
    """Broker and database running, every service process alive and ready."""
    stack.kafka("resume")  # a paused broker counts as running
    stack.kafka("start")
    stack.postgres("start")
    for service in stack.services():
        if not alive(pid_of(stack, service.name)):
            stack.stop_service(service.name, signal.SIGKILL)
            stack.start_service(service.name)
    for service in stack.services():
        stack.wait_ready(stack.url(service.name), READY_TIMEOUT)


async def post_until_accepted(client: StackClient, principal: str, body: dict, timeout: float = 180) -> int:
    """Post the event, and post the same again (same id, same body) until it is answered 202,
    as a partner system would while its gateway or the database is away. Returns the attempts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            response = await client.post_event(principal, body)
            if response.status_code == 202:
                assert response.json()["id"] == body["id"]
                return attempts
            assert response.status_code >= 500, f"{response.status_code}: {response.text}"
        except httpx.TransportError:
            pass
        assert loop.time() < deadline, f"event {body['id']} was not accepted within {timeout:.0f} s"
        await asyncio.sleep(0.3)


async def unpublished(stack: Stack, principal: str, event_ids: list[str]) -> set[str]:
    """Those of `event_ids` that sit in the principal's outbox with published_at IS NULL."""
    conn = await asyncpg.connect(stack.dsn)
    try:
        rows = await conn.fetch(
            f'SELECT event_id FROM "gateway_{principal.replace("-", "_")}".outbox '
            "WHERE published_at IS NULL AND event_id = ANY($1::text[])",
            event_ids,
        )
    finally:
        await conn.close()
    return {row["event_id"] for row in rows}


async def inbox_counts(client: StackClient, principal: str) -> Counter:
    """How often each event id is in the principal's inbox (all senders: the tests use uuids)."""
    return Counter(await client.inbox_ids(principal))


async def inbox_seqs(client: StackClient, principal: str) -> list[int]:
    return [item["seq"] for item in await client.inbox_items(principal)]


def log_size(stack: Stack, name: str) -> int:
    path = stack.state_dir / "logs" / f"{name}.log"
    return path.stat().st_size if path.exists() else 0


def log_tail(stack: Stack, name: str, lines: int = 30) -> str:
    path = stack.state_dir / "logs" / f"{name}.log"
    if not path.exists():
        return f"(no {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class Posted:
    """An event a gateway accepted (202), and the one principal a consent lets it reach (None: none)."""

    sender: str
    body: dict
    recipient: str | None

    @property
    def id(self) -> str:
        return self.body["id"]

    @property
    def person(self) -> str:
        return self.body["subject"]


async def assert_all_accounted_for(
    client: StackClient, posted: list[Posted], label: str = "", timeout: float = 180
) -> dict:
    """Every accepted event is where it belongs: in its recipient's inbox exactly once when a consent
    allowed it, in no inbox when none did; each has an audited gate decision saying so; and each
    recipient's inbox sequence is gapless. Returns a few numbers for the test's output."""
    principals = sorted({p.sender for p in posted} | {p.recipient for p in posted if p.recipient})
    for recipient in sorted({p.recipient for p in posted if p.recipient}):
        expected = [p.id for p in posted if p.recipient == recipient]
        counts = await eventually(
            lambda r=recipient: inbox_counts(client, r), lambda c, e=expected: all(c[i] for i in e), timeout=timeout
        )
        missing = [i for i in expected if not counts[i]]
        assert not missing, f"{label}: {len(missing)} of {len(expected)} events never reached {recipient}"
        twice = {i: counts[i] for i in expected if counts[i] > 1}
        assert not twice, f"{label}: in {recipient}'s inbox more than once: {twice}"
        seqs = await inbox_seqs(client, recipient)
        assert seqs == list(range(1, len(seqs) + 1)), f"{label}: {recipient}'s inbox sequence has a gap"
    withheld = {p.id for p in posted if p.recipient is None}
    for principal in principals:
        leaked = withheld & set(await client.inbox_ids(principal))
        assert not leaked, f"{label}: events without consent reached {principal}: {leaked}"

    asked = sorted({(p.sender, p.person) for p in posted})

    async def audit() -> list[dict]:
        entries = {}  # by decision id: a decision is seen by every party to it
        for sender, person in asked:
            entries |= {entry["decision_id"]: entry for entry in await client.audit(sender, person)}
        return list(entries.values())

    all_ids = {p.id for p in posted}
    entries = await eventually(audit, lambda es: all_ids <= {e["event_id"] for e in es}, timeout=timeout)
    by_event: dict[str, list[dict]] = {}
    for entry in entries:
        by_event.setdefault(entry["event_id"], []).append(entry)
    undecided = all_ids - set(by_event)
    assert not undecided, f"{label}: {len(undecided)} events have no audited decision"
    for p in posted:
        for entry in by_event[p.id]:
            if p.recipient is None:
                assert (entry["forwarded"], entry["reason"]) == (False, "no_consent"), f"{label}: {entry}"
            else:
                assert (entry["forwarded"], entry["recipient"]) == (True, p.recipient), f"{label}: {entry}"
    return {
        "events": len(posted),
        "withheld": len(withheld),
        "decided more than once": sum(len(by_event[i]) - 1 for i in all_ids),
    }
