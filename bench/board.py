"""Benchmark: the board at county scale — its rebuild from the topics, and its page and API.

    .venv/bin/python -m bench.board [--persons 2000] [--others 1000] [--events-per-person 10] [--requests 60]
                                    [--workers 1,2,auto] [--keep] [--again]

Starts its own Kafka and PostgreSQL (SAMORDNA_BENCH_KAFKA_PORT / _PG_PORT / _HTTP_BASE /
_STATE_DIR, defaults 23092 / 23432 / 23000 / .local/bench-board) for Region Örebro län and its
twelve municipalities. Fills the topics the board reads the way the consent service writes them:
every consent's grant on `consent.changes` sealed under its key as the lifecycle relay seals it
(`services/consent/lifecycle.py`), every event on `shared.events` sealed by the gate's own
`erasure.Keys.seal`, with the keys in the consent service's `erasure_keys` table. (Not through the
gateways and the gate: at their rate the fill would take longer than the measurement; what the
board reads is byte for byte what the gate writes.) `--persons` share a consent with the region
and Örebro (kommun-1880), `--others` with the region and one of the other municipalities.

Then measures:
  - the rebuild (`services/board/rebuild.py`, the board's own code and tables): records/s per topic,
    once for each number of `--workers` processes (default 1, one per core, and "auto": the rebuild's own
    choice per topic, as an operator gets it), on the same topics;
  - the board process, started as `make up` starts it: `GET /v1/board` and the web page `/` for
    Örebro's coordinator, and one person's timeline (API and page), `--requests` times each after
    a warm-up, one request at a time over keep-alive. Client-side on loopback, so an upper bound of
    the server's time. The page is asked with a staff session put in the board's session table as
    the sign-in puts it (no Keycloak here).
"""

import argparse
import asyncio
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from contracts import ForwardedEvent, parse_event
from contracts.catalogue import CATALOGUE
from contracts.examples import EXAMPLE_DATA
from contracts.principals import municipality, region
from contracts.sealing import new_key, seal_event
from contracts.topics import CONSENT_CHANGES, SHARED_EVENTS
from deploy.stack import REPO, Stack
from services.board import rebuild as board_rebuild
from services.board.bootstrap import projection_feed
from services.board.schema import SCHEMA_SQL as BOARD_SCHEMA_SQL
from services.board.sessions import Kind, SessionStore, Timeouts
from services.board.settings import BoardSettings
from services.consent.erasure import Keys
from services.consent.lifecycle import lifecycle_event
from services.consent.schema import SCHEMA_SQL as CONSENT_SCHEMA_SQL
from services.runtime.auth import Caller, Role
from services.runtime.db import create_pool
from services.runtime.oidc import Staff
from services.runtime.pseudonym import Pseudonymizer
from tests.support.personnummer import random_person_id

LANSKOD = "18"
KOMMUNKODER = ("1860", "1861", "1862", "1863", "1864", "1814", "1880", "1881", "1882", "1883", "1884", "1885")
REGION, OREBRO = region(LANSKOD), municipality("1880")
OTHERS = [municipality(k) for k in KOMMUNKODER if k != "1880"]
TYPES = [t for t in EXAMPLE_DATA if CATALOGUE[t].sender.value in ("region", "municipality", "joint")]


def bench_stack() -> Stack:
    env = os.environ.get
    return Stack(
        state_dir=Path(env("SAMORDNA_BENCH_STATE_DIR", REPO / ".local" / "bench-board")),
        kafka_port=int(env("SAMORDNA_BENCH_KAFKA_PORT", 23092)),
        pg_port=int(env("SAMORDNA_BENCH_PG_PORT", 23432)),
        http_base_port=int(env("SAMORDNA_BENCH_HTTP_BASE", 23000)),
        lanskod=LANSKOD,
        kommunkoder=KOMMUNKODER,
    )


def machine() -> str:
    git = shutil.which("git") or "git"
    commit = subprocess.run([git, "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run([git, "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return (
        f"machine: {platform.node()}, {os.cpu_count()} cores, {mem.split()[1]} kB, load {os.getloadavg()[0]:.1f}; "
        f"commit {commit.stdout.strip()}{' (dirty)' if dirty else ''}"
    )


def _sender_and_recipient(event_type: str, partner: str, rng: random.Random) -> tuple[str, str]:
    kind = CATALOGUE[event_type].sender.value
    if kind == "region" or (kind == "joint" and rng.random() < 0.5):
        return REGION, partner
    return partner, REGION


async def fill(stack: Stack, persons: int, others: int, per_person: int) -> tuple[int, int]:
    """Consents with their keys, their grants on consent.changes and the persons' events on shared.events."""
    pseudonyms = Pseudonymizer(board_settings(stack).pseudonym_key)
    rng, now = random.Random(18), datetime.now(UTC)
    consent_pool = await create_pool(stack.dsn, "consent", CONSENT_SCHEMA_SQL, min_size=1, max_size=2)
    producer = AIOKafkaProducer(**stack.kafka_options(), linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    keys, changes, events = [], 0, 0
    try:
        for i in range(persons + others):
            person = random_person_id(rng).replace("-", "")
            pseudonym = pseudonyms.of(person)
            partner = OREBRO if i < persons else OTHERS[i % len(OTHERS)]
            consent = {"id": uuid.uuid4(), "person_id": person, "parties": [REGION, partner],
                       "valid_from": now - timedelta(days=90), "valid_until": now + timedelta(days=270)}  # fmt: skip
            kid, key = f"consent-{consent['id']}", new_key()
            keys.append((kid, pseudonym, consent["id"], key))
            granted = lifecycle_event("granted", consent, partner, now - timedelta(days=90))
            record = seal_event(granted.model_dump(), pseudonym, granted.data, {"subject": person}, {kid: key})
            await producer.send(CONSENT_CHANGES, record.to_json(), key=pseudonym.encode())
            changes += 1
            sealing = Keys({str(consent["id"]): (kid, key)}, {})
            for n in range(per_person):
                event_type = rng.choice(TYPES)
                sender, recipient = _sender_and_recipient(event_type, partner, rng)
                at = now - timedelta(days=80) + timedelta(days=80 * n / per_person, minutes=rng.randrange(600))
                body = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/bench/journal", "type": event_type,
                        "subject": person, "time": at.isoformat(), "datacontenttype": "application/json",
                        "principal": sender, "category": CATALOGUE[event_type].category.value,
                        "data": EXAMPLE_DATA[event_type]}  # fmt: skip
                shared = ForwardedEvent(
                    event=parse_event(body), parties=[sender, recipient], consent_ids=[str(consent["id"])],
                    decided_at=at + timedelta(seconds=1),
                )  # fmt: skip
                await producer.send(SHARED_EVENTS, sealing.seal(shared, pseudonym, frozenset()), key=pseudonym.encode())
                events += 1
        await producer.flush()
        async with consent_pool.acquire() as conn:
            await conn.copy_records_to_table(
                "erasure_keys", records=keys, columns=["kid", "person_pseudonym", "consent_id", "key"]
            )
    finally:
        await producer.stop()
        await consent_pool.close()
    return changes, events


def board_settings(stack: Stack) -> BoardSettings:
    """The board service's own settings, from the environment the stack gives it."""
    env = stack.service_env(stack.service("board"))
    os.environ.update({k: v for k, v in env.items() if k.startswith("SAMORDNA_")})
    return BoardSettings()


async def timed_rebuild(settings: BoardSettings, workers: int | None) -> dict[str, tuple[int, int, float, float]]:
    """`services.board.rebuild.rebuild` with `workers` processes (None: its own default), each topic
    timed: worker processes used, records, wall seconds, and CPU seconds of this process and its
    workers (RUSAGE_CHILDREN counts a worker once it ended)."""
    timed = {}
    async with projection_feed(settings) as feed:
        await feed.store.forget_everything()
    for topic in (CONSENT_CHANGES, SHARED_EVENTS):
        started, cpu = time.perf_counter(), _own_and_children_cpu()
        replayed = await board_rebuild.replay_topic(settings, topic, workers)
        seconds, cpu = time.perf_counter() - started, _own_and_children_cpu() - cpu
        timed[topic] = (replayed.workers, replayed.records, seconds, cpu)
    return timed


def _own_and_children_cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def measure_rebuilds(settings: BoardSettings, workers: list[int | None]) -> None:
    """The rebuild with each number of worker processes (None: the rebuild's own choice, per topic,
    as an operator's `services.board.rebuild` without --workers makes it), one after the other on
    the same topics."""
    # CPU seconds of the rebuild's processes (PostgreSQL's and Kafka's not counted): on a shared
    # machine what the rebuild costs, where the wall clock says how long it waited for its share of it
    columns = ("asked", "workers", "records", "seconds", "records/s", "cpu s", "per cpu s")
    print(f"\n{'rebuild':>16} " + " ".join(f"{c:>9}" for c in columns))
    for n in workers:
        asked = "auto" if n is None else n
        total_n, total_s, total_cpu = 0, 0.0, 0.0
        for topic, (used, count, seconds, cpu) in (await timed_rebuild(settings, n)).items():
            total_n, total_s, total_cpu = total_n + count, total_s + seconds, total_cpu + cpu
            print(f"{topic:>16} {asked:>9} {used:>9} {count:>9} {seconds:>9.2f} {count / seconds:>9.0f} "
                  f"{cpu:>9.2f} {count / cpu:>9.0f}")  # fmt: skip
        print(f"{'both':>16} {asked:>9} {'':>9} {total_n:>9} {total_s:>9.2f} {total_n / total_s:>9.0f} "
              f"{total_cpu:>9.2f} {total_n / total_cpu:>9.0f}")  # fmt: skip


async def staff_cookie(stack: Stack) -> str:
    """A signed-in Örebro coordinator's session, as `signin.py` stores one after the provider's answer."""
    pool = await create_pool(stack.dsn, "board", BOARD_SCHEMA_SQL, min_size=1, max_size=1)
    try:
        sessions = SessionStore(pool, Timeouts(timedelta(hours=1), timedelta(hours=10)))
        staff = Staff(Caller(OREBRO, Role.COORDINATOR), "bench", "bench-coordinator", "Bänk Samordnare", None, None)
        session = await sessions.create(Kind.STAFF, {"staff": staff.as_dict()}, datetime.now(UTC))
        return session.key
    finally:
        await pool.close()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed_requests(http: httpx.AsyncClient, url: str, count: int, pid: int, **kwargs) -> tuple[list, float]:
    """Each request's time, and the board process's CPU seconds per request."""
    for _ in range(3):  # warm-up: first queries plan, first templates compile
        (await http.get(url, **kwargs)).raise_for_status()
    took, cpu = [], _cpu_seconds(pid)
    for _ in range(count):
        started = time.perf_counter()
        response = await http.get(url, **kwargs)
        took.append(time.perf_counter() - started)
        response.raise_for_status()
    return took, (_cpu_seconds(pid) - cpu) / count


def _line(name: str, timed: tuple[list[float], float], size: int) -> str:
    took, cpu = timed
    q = statistics.quantiles(took, n=100, method="inclusive")
    ms = [q[49] * 1000, q[98] * 1000, max(took) * 1000, cpu * 1000]
    return f"{name:>28} " + " ".join(f"{x:>8.1f}" for x in ms) + f" {size:>10}"


async def serve_and_measure(stack: Stack, requests: int) -> None:
    stack.start_service("board")
    stack.wait_ready(stack.url("board"), timeout=120)
    token = stack.ensure_secrets()["tokens"][OREBRO]["coordinator"]
    pid = stack.processes.pid("board")
    base = stack.url("board")
    cookie = await staff_cookie(stack)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        auth = {"Authorization": f"Bearer {token}"}
        board = (await http.get("/v1/board", headers=auth)).json()
        rows = board["rows"]
        handle = rows[len(rows) // 2]["handle"]
        print(f"\nÖrebro's board: {len(rows)} rows; {requests} requests each, one at a time (ms, client side;")
        print("cpu/req: the board process's CPU ms per request, which the machine's load does not inflate)")
        print(f"{'request':>28} {'p50':>8} {'p99':>8} {'max':>8} {'cpu/req':>8} {'bytes':>10}")
        cases = [
            ("GET /v1/board", "/v1/board", {"headers": auth}),
            ("GET /v1/board/persons/{h}", f"/v1/board/persons/{handle}", {"headers": auth}),
            ("page /", "/", {"cookies": {"samordna_tavla": cookie}}),
            ("page /person/{h}", f"/person/{handle}", {"cookies": {"samordna_tavla": cookie}}),
        ]
        for name, url, kwargs in cases:
            http.cookies.clear()
            size = len((await http.get(url, **kwargs)).content)
            print(_line(name, await timed_requests(http, url, requests, pid, **kwargs), size))


async def main(args: argparse.Namespace) -> None:
    stack = bench_stack()
    print(machine())
    if args.again:
        print(f"again: the board restarted on the topics and tables {stack.state_dir} holds")
        stack.stop_service("board")
        await measure_rebuilds(board_settings(stack), args.workers)
        await serve_and_measure(stack, args.requests)
        return
    print(f"settings: persons={args.persons} others={args.others} events/person={args.events_per_person} "
          f"requests={args.requests} workers={args.workers}; "
          f"kafka {stack.kafka_port}, postgres {stack.pg_port}")  # fmt: skip
    if stack.state_dir.exists():  # leftovers of a run stopped mid-way
        stack.down()
    shutil.rmtree(stack.state_dir, ignore_errors=True)
    stack.infrastructure("start")
    try:
        stack.create_topics()
        await asyncio.to_thread(stack.grant_access)
        started = time.perf_counter()
        changes, events = await fill(stack, args.persons, args.others, args.events_per_person)
        print(f"filled {changes} grants and {events} events in {time.perf_counter() - started:.1f} s "
              f"(sealed as the consent service seals them)")  # fmt: skip
        settings = board_settings(stack)
        await (await create_pool(stack.dsn, "board", BOARD_SCHEMA_SQL, min_size=1, max_size=1)).close()
        await measure_rebuilds(settings, args.workers)
        await serve_and_measure(stack, args.requests)
    finally:
        if not args.keep:
            stack.down()


def _worker_counts(text: str) -> list[int | None]:
    return [None if n.strip() == "auto" else board_rebuild.workers_argument(n) for n in text.split(",")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=2000, help="persons shared by the region and Örebro")
    parser.add_argument("--others", type=int, default=1000, help="persons shared with the other municipalities")
    parser.add_argument("--events-per-person", type=int, default=10)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument(
        "--workers", type=_worker_counts, default=[1, os.cpu_count() or 1, None],
        help="the rebuild's worker processes, comma-separated, 'auto' for the rebuild's own choice: "
        "one rebuild each (default: 1, one per core, auto)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="leave Kafka, PostgreSQL and the board running")
    parser.add_argument(
        "--again", action="store_true",
        help="only restart the board (with the code as it is now) on what a --keep run left, and measure its requests",
    )  # fmt: skip
    asyncio.run(main(parser.parse_args()))
