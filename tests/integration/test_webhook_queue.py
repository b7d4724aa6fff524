"""The webhook queue on the real PostgreSQL: a Samordna webhook takes what is due in any order, a
FHIR subscription (in order) only its first pending delivery, and a retrying one holds back the
rest until it is delivered or parked; new inbox rows are queued in batches with gapless numbers,
outcomes marked together, and the inbox writer tells the dispatcher at commit."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import parse_event
from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.inbox import INBOX_CHANNEL, Delivered, store_delivered
from services.gateway.webhooks import queue
from services.gateway.webhooks.queue import Claimed, claim_due, enqueue_new, record_delivered, record_failed
from services.runtime.db import create_pool
from tests.support.client import event
from tests.support.personnummer import random_person_id

pytestmark = pytest.mark.infra
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


@pytest.fixture
async def pool(infra):
    pool = await create_pool(infra.dsn, f"gateway_queue_{uuid.uuid4().hex[:8]}", SCHEMA_SQL, min_size=1, max_size=3)
    yield pool
    await pool.close()


async def queued(pool, deliveries: int) -> uuid.UUID:
    async with pool.acquire() as conn:
        for seq in range(1, deliveries + 1):
            await conn.execute(
                """INSERT INTO inbox (seq, event_id, sender, event_type, event, received_at)
                   VALUES ($1, $2, 'region-14', 't', '{}', now())""",
                seq, f"event-{seq}",
            )  # fmt: skip
        subscription = uuid.uuid4()
        await conn.execute(
            "INSERT INTO webhook_subscriptions (id, url, secret, last_seq) VALUES ($1, 'https://x', 's', 0)",
            subscription,
        )
    assert (await enqueue_new(pool, subscription)).queued == deliveries
    return subscription


def later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


async def test_without_order_every_due_delivery_is_claimed_and_a_retrying_one_holds_nothing_back(pool):
    sub = await queued(pool, 3)

    first = await claim_due(pool, sub, 10, lease=60)
    [one, two, three] = first
    await record_failed(pool, sub, one, "HTTP 503", later())
    await record_delivered(pool, sub, [two])

    assert [c.seq for c in first] == [1, 2, 3]
    assert [c.event_number for c in first] == [1, 2, 3]
    assert await claim_due(pool, sub, 10, lease=60) == []  # 1 waits for its retry, 3 is leased


async def test_without_order_what_came_due_first_is_claimed_first(pool):
    sub = await queued(pool, 4)
    await pool.execute(  # 1 waits for a retry in an hour; 3 came due an hour ago, 4 a minute ago
        """UPDATE webhook_deliveries SET next_attempt_at = now() + CASE seq WHEN 1 THEN interval '1 hour'
               WHEN 3 THEN interval '-1 hour' WHEN 4 THEN interval '-1 minute' ELSE interval '0' END
           WHERE subscription_id = $1""",
        sub,
    )

    assert [c.seq for c in await claim_due(pool, sub, 2, lease=60)] == [3, 4]
    assert [c.seq for c in await claim_due(pool, sub, 2, lease=60)] == [2]
    assert await claim_due(pool, sub, 2, lease=60) == []


async def test_in_order_only_the_first_pending_delivery_is_claimed_and_a_retry_holds_back_the_rest(pool):
    sub = await queued(pool, 3)

    [one] = await claim_due(pool, sub, 10, lease=60, in_order=True)
    while_leased = await claim_due(pool, sub, 10, lease=60, in_order=True)
    await record_failed(pool, sub, one, "HTTP 503", later())
    while_retrying = await claim_due(pool, sub, 10, lease=60, in_order=True)
    await record_failed(pool, sub, one, "HTTP 503", None)  # attempts unchanged: the same claim parks it
    [two] = await claim_due(pool, sub, 10, lease=60, in_order=True)
    await record_delivered(pool, sub, [two])
    [three] = await claim_due(pool, sub, 10, lease=60, in_order=True)

    assert one.seq == 1 and while_leased == [] and while_retrying == []
    assert (two.seq, three.seq) == (2, 3)


async def subscription(pool, event_types: list[str] | None = None) -> uuid.UUID:
    sub_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO webhook_subscriptions (id, url, secret, event_types, last_seq)
           VALUES ($1, 'https://x', 's', $2, 0)""",
        sub_id, event_types or [],
    )  # fmt: skip
    return sub_id


async def inbox_rows(pool, types: list[str]) -> None:
    start = await pool.fetchval("SELECT coalesce(max(seq), 0) FROM inbox")
    await pool.executemany(
        "INSERT INTO inbox (seq, event_id, sender, event_type, event) VALUES ($1, $2, 'region-14', $3, '{}')",
        [(start + n, f"event-{start + n}", t) for n, t in enumerate(types, 1)],
    )


async def test_enqueue_takes_the_asked_types_in_a_batch_numbers_them_without_gaps_and_says_when_more_wait(
    pool, monkeypatch
):
    monkeypatch.setattr(queue, "_ENQUEUE_BATCH", 4)
    sub = await subscription(pool, ["a"])
    await inbox_rows(pool, ["a", "b", "a", "b", "a", "a"])

    first = await enqueue_new(pool, sub)  # rows 1-4: two of type a
    second = await enqueue_new(pool, sub)  # rows 5-6
    at_the_end = await enqueue_new(pool, sub)

    assert (first.queued, first.more) == (2, True)
    assert (second.queued, second.more) == (2, False)
    assert (at_the_end.queued, at_the_end.more) == (0, False)
    rows = await pool.fetch("SELECT seq, event_number FROM webhook_deliveries WHERE subscription_id = $1", sub)
    assert sorted((r["seq"], r["event_number"]) for r in rows) == [(1, 1), (3, 2), (5, 3), (6, 4)]
    cursor = await pool.fetchrow("SELECT last_seq, events_queued FROM webhook_subscriptions WHERE id = $1", sub)
    assert (cursor["last_seq"], cursor["events_queued"]) == (6, 4)


async def test_a_cursor_being_moved_by_another_replica_is_skipped_not_queued_twice(pool):
    sub = await subscription(pool)
    await inbox_rows(pool, ["a", "a"])

    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT 1 FROM webhook_subscriptions WHERE id = $1 FOR UPDATE", sub)
        while_locked = await enqueue_new(pool, sub)
    after = await enqueue_new(pool, sub)

    assert while_locked.queued == 0 and after.queued == 2
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1", sub) == 2


async def test_deliveries_are_marked_together_and_a_stale_claim_marks_nothing(pool):
    sub = await queued(pool, 3)
    [one, two, three] = await claim_due(pool, sub, 10, lease=60)
    await pool.execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE seq = 3")  # its lease ran out
    [three_again] = await claim_due(pool, sub, 10, lease=60)

    await record_delivered(pool, sub, [one, two, three])  # three's outcome comes after it was claimed again

    statuses = await pool.fetch("SELECT seq, status, attempts FROM webhook_deliveries ORDER BY seq")
    assert [(r["seq"], r["status"], r["attempts"]) for r in statuses] == [
        (1, "delivered", 1), (2, "delivered", 1), (3, "pending", 2),
    ]  # fmt: skip
    assert three_again.attempts == 2


async def test_the_inbox_writer_notifies_its_schema_at_commit_and_only_for_new_rows(pool):
    schema = await pool.fetchval("SELECT current_schema()")
    heard: asyncio.Queue[str] = asyncio.Queue()

    def notified(_conn, _pid, _channel, payload: str) -> None:
        heard.put_nowait(payload)

    async with pool.acquire() as listener:
        await listener.add_listener(INBOX_CHANNEL, notified)
        body = event(VISIT_MISSED, random_person_id(), principal="region-14", category="attendance")
        item = Delivered(parse_event(json.dumps(body).encode()), 1)
        async with pool.acquire() as writer:
            assert await store_delivered(writer, [item], {}) == 1
            payload = await asyncio.wait_for(heard.get(), 10)
            assert await store_delivered(writer, [item], {}) == 0  # a redelivery: nothing stored
            await writer.execute("SELECT pg_notify($1, 'a marker')", INBOX_CHANNEL)
            marker = await asyncio.wait_for(heard.get(), 10)
        await listener.remove_listener(INBOX_CHANNEL, notified)

    assert payload == schema
    assert marker == "a marker"  # nothing came between: the redelivery told no one


async def test_a_claim_marks_what_was_delivered_and_in_order_takes_the_next_in_the_same_statement(pool):
    sub = await queued(pool, 3)
    [one] = await claim_due(pool, sub, 1, lease=60, in_order=True)

    [two] = await claim_due(pool, sub, 1, lease=60, in_order=True, delivered=[one])
    stale = Claimed(two.seq, two.event_id, two.attempts - 1, two.first_attempt_at, b"")  # an older attempt's outcome
    held_back = await claim_due(pool, sub, 1, lease=60, in_order=True, delivered=[stale])
    [three] = await claim_due(pool, sub, 1, lease=60, in_order=True, delivered=[two])

    assert (one.seq, two.seq, three.seq) == (1, 2, 3)
    assert held_back == []  # two's mark was refused: it is still pending, and first
    statuses = await pool.fetch("SELECT seq, status FROM webhook_deliveries ORDER BY seq")
    assert [(r["seq"], r["status"]) for r in statuses] == [(1, "delivered"), (2, "delivered"), (3, "pending")]
