"""The webhook dispatcher on the real PostgreSQL, sending to a receiver on loopback: a new inbox row
is sent on the inbox writer's notification (with a poll of an hour nothing else could send it),
also when the notification comes while the worker is queueing the rows before it, and a
subscription never has more requests in flight than its concurrency."""

import asyncio
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import parse_event
from contracts import webhooks as signing
from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.inbox import Delivered, store_delivered
from services.gateway.webhooks import dispatcher
from services.gateway.webhooks.dispatcher import DispatchConfig, Dispatcher, EndpointWorker
from services.gateway.webhooks.policy import RetryPolicy
from services.gateway.webhooks.targets import TargetGuard, TargetPolicy
from services.runtime.db import create_pool
from tests.support.client import event
from tests.support.loopback import LoopbackServer
from tests.support.personnummer import random_person_id

pytestmark = pytest.mark.infra
SECRET = "worker-test-secret-0123456789"  # noqa: S105
WAIT = 30.0


class Receiver:
    """Counts the requests in flight; holds each until `release` is set (when `hold`)."""

    def __init__(self, hold: bool) -> None:
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.lock = threading.Condition()
        self.in_flight = self.most_in_flight = 0
        self.event_ids: list[str] = []
        self.server = LoopbackServer(self.on_post)

    def on_post(self, _path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.lock.notify_all()
        self.release.wait(WAIT)
        with self.lock:
            self.in_flight -= 1
            if signing.verify(SECRET, headers, body):
                self.event_ids.append(headers[signing.EVENT_ID_HEADER])
            self.lock.notify_all()
        return 204

    async def until(self, predicate, timeout: float = WAIT) -> bool:
        def wait() -> bool:
            with self.lock:
                return self.lock.wait_for(lambda: predicate(self), timeout)

        return await asyncio.to_thread(wait)


@pytest.fixture
async def pool(infra):
    pool = await create_pool(infra.dsn, f"gateway_worker_{uuid.uuid4().hex[:8]}", SCHEMA_SQL, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def write_inbox(pool, count: int) -> list[str]:
    items = []
    for _ in range(count):
        body = event("se.samordna.region.visit.missed.v1", random_person_id(), principal="region-14",
                     category="attendance")  # fmt: skip
        items.append(Delivered(parse_event(json.dumps(body).encode()), None))
    async with pool.acquire() as conn:
        await store_delivered(conn, items, {})
    return [item.event.id for item in items]


async def dispatching(pool, receiver: Receiver, concurrency: int, poll_seconds: float) -> asyncio.Task:
    await pool.execute(
        "INSERT INTO webhook_subscriptions (id, url, secret, last_seq) VALUES ($1, $2, $3, 0)",
        uuid.uuid4(), receiver.server.url("/hook"), SECRET,
    )  # fmt: skip
    config = DispatchConfig(
        RetryPolicy(0.1, 0.5, timedelta(hours=1)), timeout=WAIT, concurrency=concurrency, poll_seconds=poll_seconds,
        targets=TargetGuard(TargetPolicy(https_only=False, allowed_hosts=None, allow_loopback=True)),
    )  # fmt: skip
    return asyncio.create_task(Dispatcher(pool, "kommun-1489", config, lambda: datetime.now(UTC)).run())


async def stop(task: asyncio.Task, receiver: Receiver) -> None:
    receiver.release.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    receiver.server.stop()


async def test_a_new_inbox_row_is_sent_on_the_writers_notification_not_at_the_next_poll(pool):
    receiver = Receiver(hold=False)
    task = await dispatching(pool, receiver, concurrency=4, poll_seconds=3600)
    try:
        first = await write_inbox(pool, 1)  # sent on start-up or on its notification
        assert await receiver.until(lambda r: r.event_ids == first)
        second = await write_inbox(pool, 1)  # the worker is idle, its next poll an hour away
        assert await receiver.until(lambda r: r.event_ids == first + second)
    finally:
        await stop(task, receiver)


async def test_a_row_committed_while_the_worker_queues_the_one_before_is_sent_on_its_notification(pool, monkeypatch):
    # the worker's queueing statement is held, once it has queued a row, until a second row is
    # committed and its notification has reached the worker: the notification came while the
    # statement ran, for a row the statement did not see (the poll is an hour: only it can send it)
    notified = asyncio.Event()
    real_moved, real_enqueue = EndpointWorker.inbox_moved, dispatcher.enqueue_new
    committed_meanwhile: list[str] = []

    def moved(worker: EndpointWorker) -> None:
        notified.set()
        real_moved(worker)

    async def enqueue_while_another_row_commits(conn, subscription_id):
        enqueued = await real_enqueue(conn, subscription_id)
        if enqueued.queued and not committed_meanwhile:
            notified.clear()
            committed_meanwhile.extend(await write_inbox(pool, 1))
            async with asyncio.timeout(WAIT):
                await notified.wait()
        return enqueued

    monkeypatch.setattr(EndpointWorker, "inbox_moved", moved)
    monkeypatch.setattr(dispatcher, "enqueue_new", enqueue_while_another_row_commits)
    receiver = Receiver(hold=False)
    task = await dispatching(pool, receiver, concurrency=4, poll_seconds=3600)
    try:
        async with asyncio.timeout(WAIT):
            await notified.wait()  # listening: the watch's wake-up at its start
        first = await write_inbox(pool, 1)
        assert await receiver.until(lambda r: len(r.event_ids) >= 2)
        assert committed_meanwhile and sorted(receiver.event_ids) == sorted(first + committed_meanwhile)
    finally:
        await stop(task, receiver)


async def test_no_more_requests_are_in_flight_than_the_concurrency_and_each_delivery_is_sent_once(pool):
    receiver = Receiver(hold=True)
    written = await write_inbox(pool, 10)
    task = await dispatching(pool, receiver, concurrency=3, poll_seconds=0.2)
    try:
        assert await receiver.until(lambda r: r.in_flight == 3)
        # while the three are held, a fourth would be a slot too many: given a second to show up
        assert not await receiver.until(lambda r: r.in_flight > 3, timeout=1.0)
        receiver.release.set()
        assert await receiver.until(lambda r: len(r.event_ids) == 10)
        assert await statuses_become(pool, {"delivered": 10})  # marked as their answers come back
    finally:
        await stop(task, receiver)

    assert receiver.most_in_flight == 3
    assert sorted(receiver.event_ids) == sorted(written)


async def statuses_become(pool, expected: dict[str, int]) -> bool:
    """Whether the deliveries' statuses reach `expected` within WAIT (the database has no event to await)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while asyncio.get_running_loop().time() < deadline:
        rows = await pool.fetch("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status")
        if {r["status"]: r["n"] for r in rows} == expected:
            return True
        await asyncio.sleep(0.05)
    return False
