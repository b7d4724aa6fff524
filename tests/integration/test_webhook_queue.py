"""The webhook queue's claims on the real PostgreSQL: a Samordna webhook takes what is due in any
order, a FHIR subscription (in order) only its first pending delivery, and a retrying one holds
back the rest until it is delivered or parked."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.webhooks.queue import claim_due, enqueue_new, record_delivered, record_failed
from services.runtime.db import create_pool

pytestmark = pytest.mark.infra


@pytest.fixture
async def pool(infra):
    pool = await create_pool(infra.dsn, f"gateway_queue_{uuid.uuid4().hex[:8]}", SCHEMA_SQL, min_size=1, max_size=2)
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
