"""The inbox writer on the real PostgreSQL (services/gateway/inbox.py, store_delivered), held to a
reference model: batches of deliveries, with redeliveries of events stored before and events twice
in one batch, from two senders (an event id is unique per sender only). Whatever the batches, the
inbox holds each (sender, event id) once, the first delivery of it, numbered 1, 2, 3, ... in the
order the deliveries came, with the gate's delivery number and the receipt deadline of its type."""

import asyncio
import json
import random
import uuid
from datetime import timedelta

import pytest

from contracts import parse_event, spec_for
from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.inbox import Delivered, store_delivered
from services.gateway.receipts.decisions import receipt_due_at
from services.runtime.db import create_pool
from tests.support.client import event
from tests.support.personnummer import random_person_id

pytestmark = pytest.mark.infra

SEED = random.randrange(2**32)
TYPES = {"region-14": ["se.samordna.region.visit.missed.v1", "se.samordna.region.discharge.planned.v1"],
         "kommun-1441": ["se.samordna.municipality.intervention.missed.v1"]}  # fmt: skip


@pytest.fixture
async def pool(infra):
    pool = await create_pool(infra.dsn, f"gateway_inbox_{uuid.uuid4().hex[:8]}", SCHEMA_SQL, min_size=1, max_size=2)
    yield pool
    await pool.close()


def _delivery(rng: random.Random, sender: str, event_id: str, number: int) -> Delivered:
    event_type = rng.choice(TYPES[sender])
    category = str(spec_for(event_type).category)
    body = event(event_type, random_person_id(rng), id=event_id, principal=sender, category=category)
    return Delivered(parse_event(json.dumps(body).encode()), number)


async def test_the_inbox_holds_each_event_once_in_delivery_order_without_a_gap(pool):
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    deadlines = {"se.samordna.region.discharge.planned.v1": timedelta(hours=24)}
    model: dict[tuple[str, str], tuple[int, str, int]] = {}  # (sender, id) -> (seq, type, delivery number)
    ids = [f"e-{n}" for n in range(60)]  # few ids, so that redeliveries and repeats are common
    number = 0
    for _ in range(25):
        batch = []
        for _ in range(rng.randrange(0, 30)):
            number += 1
            batch.append(_delivery(rng, rng.choice(list(TYPES)), rng.choice(ids), number))
        async with pool.acquire() as conn:
            stored = await store_delivered(conn, batch, deadlines)
        fresh = 0
        for item in batch:
            key = (item.event.principal, item.event.id)
            if key not in model:
                model[key] = (len(model) + 1, item.event.type, item.delivery_seq)
                fresh += 1
        assert stored == fresh, f"seed {SEED}: stored {stored}, the model {fresh}"

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT seq, sender, event_id, event_type, delivery_seq, received_at, receipt_due_at"
            " FROM inbox ORDER BY seq"
        )
    assert {(r["sender"], r["event_id"]): (r["seq"], r["event_type"], r["delivery_seq"]) for r in rows} == model, (
        f"seed {SEED}"
    )
    assert [r["seq"] for r in rows] == list(range(1, len(model) + 1)), f"seed {SEED}: a gap or a repeat"
    for r in rows:
        assert r["receipt_due_at"] == receipt_due_at(r["event_type"], r["received_at"], deadlines), f"seed {SEED}"


async def test_an_inbox_writer_waits_for_its_own_inbox_only(infra):
    """The gateways of a county share one database, a schema each: a batch being written to one
    inbox holds back a second writer of that inbox (gapless numbers), never another gateway's."""
    schemas = [f"gateway_inbox_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    pools = [await create_pool(infra.dsn, schema, SCHEMA_SQL, min_size=2, max_size=2) for schema in schemas]
    rng = random.Random(SEED)
    try:
        async with pools[0].acquire() as holder:
            async with holder.transaction():  # a batch of the first inbox, not yet committed
                await store_delivered(holder, [_delivery(rng, "region-14", "held", 1)], {})

                async def write(pool, event_id: str) -> int:
                    async with pool.acquire() as conn:
                        return await store_delivered(conn, [_delivery(rng, "region-14", event_id, 2)], {})

                assert await asyncio.wait_for(write(pools[1], "other"), timeout=10) == 1, "another inbox waited"
                same = asyncio.create_task(write(pools[0], "same"))
                done, _ = await asyncio.wait({same}, timeout=1.0)
                assert not done, "a second writer of the same inbox did not wait for the first"
            assert await asyncio.wait_for(same, timeout=10) == 1
        async with pools[0].acquire() as conn:
            rows = await conn.fetch("SELECT seq, event_id FROM inbox ORDER BY seq")
        assert [(r["seq"], r["event_id"]) for r in rows] == [(1, "held"), (2, "same")]
    finally:
        for pool in pools:
            await pool.close()
