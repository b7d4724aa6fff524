"""The gateway's outbox on the real PostgreSQL: concurrent requests written as one group, each
answered as if alone (once per id, the same answer again, another body a conflict), and a
batch kept in its order."""

import asyncio
import uuid

import asyncpg
import pytest

from contracts import parse_event
from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.errors import EventIdConflict
from services.gateway.outbox import Accepted, PgOutbox
from services.runtime.db import create_pool
from services.runtime.pseudonym import Pseudonymizer
from tests.support.client import event
from tests.support.personnummer import random_person_id

REGION = "region-14"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


@pytest.fixture
async def pool(infra):
    schema = f"outbox_{uuid.uuid4().hex}"
    pool = await create_pool(infra.dsn, schema, SCHEMA_SQL, min_size=1, max_size=4)
    yield pool
    await pool.close()
    conn = await asyncpg.connect(infra.dsn)
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()


def a_event(**changes):
    return parse_event(event(VISIT_MISSED, random_person_id()) | changes, sender=REGION)


async def _settled(call):
    try:
        return await call
    except EventIdConflict as conflict:
        return conflict


async def test_concurrent_requests_go_in_one_group_and_each_gets_its_own_answer(pool):
    wakeups = []
    outbox = PgOutbox(pool, Pseudonymizer(b"test"), lambda: wakeups.append(1))
    distinct = [a_event() for _ in range(60)]
    repeated = a_event()
    other_body = repeated.model_copy(update={"source": "/test/another-system"})
    calls = [*distinct[:30], repeated, *[repeated] * 5, *[other_body] * 5, *distinct[30:]]

    answers = await asyncio.gather(*(_settled(outbox.accept(e)) for e in calls))

    by_id = {}
    for sent, answer in zip(calls, answers, strict=True):
        if sent is other_body:
            assert isinstance(answer, EventIdConflict) and answer.event_id == repeated.id
        else:
            assert isinstance(answer, Accepted) and answer.id == sent.id
            by_id.setdefault(sent.id, set()).add(answer.accepted_at)
    assert all(len(times) == 1 for times in by_id.values()), "the same event, the same answer"
    rows = await pool.fetch("SELECT event_id, kafka_key FROM outbox")
    assert sorted(r["event_id"] for r in rows) == sorted({e.id for e in distinct} | {repeated.id})
    assert all(len(r["kafka_key"]) == 64 for r in rows), "keyed by the pseudonym"
    assert len(wakeups) <= 2, f"{len(calls)} concurrent requests woke the relay {len(wakeups)} times"


async def test_a_batch_is_stored_in_its_order_and_answers_what_was_accepted_before(pool):
    outbox = PgOutbox(pool, Pseudonymizer(b"test"), lambda: None)
    before = a_event()
    await outbox.accept(before)
    batch = [a_event() for _ in range(20)]
    conflicting = before.model_copy(update={"source": "/test/another-system"})

    answers = await outbox.accept_many([*batch[:10], before, conflicting, *batch[10:]])

    assert [type(a) for a in answers] == [Accepted] * 11 + [EventIdConflict] + [Accepted] * 10
    seqs = await pool.fetch("SELECT event_id FROM outbox ORDER BY seq")
    assert [r["event_id"] for r in seqs] == [before.id, *(e.id for e in batch)]
