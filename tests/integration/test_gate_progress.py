"""The gate's progress rows on the real PostgreSQL, as the consent service's own role uses them
(services/consent/repository.py, claim_partitions/advance_partitions): a gate that takes a
partition over waits for the batch its previous owner is committing and then sees how far it
got; a rolled-back batch moves nothing; progress never goes back; each gate group has its own.

Then a model: two gates of one group take random batches of one partition from random, often
stale, positions (what a gate reads from Kafka's group offsets during a hand-over), concurrently,
committing or rolling back at random. With the rows, every offset is decided exactly once by a
committed batch, in order, whatever the interleaving."""

import asyncio
import random
import uuid

import pytest
from aiokafka import TopicPartition

from services.consent import repository
from services.consent.schema import APP_ROLE, SCHEMA_SQL
from services.runtime.db import create_pool
from tests.support.client import eventually

pytestmark = pytest.mark.infra

GROUP = "samordna-gate"
TP = TopicPartition("events.region-14", 3)
OTHER = TopicPartition("events.kommun-1489", 0)
SEED = random.randrange(2**32)


@pytest.fixture
async def pool(infra):
    schema = f"gate_progress_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(infra.dsn, schema, SCHEMA_SQL, role=APP_ROLE, min_size=2, max_size=4)
    yield pool
    await pool.close()


async def _waiting_for_a_lock(pool, pid: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND NOT granted)", pid)


async def test_a_gate_taking_a_partition_over_waits_for_its_previous_owner_s_batch(pool):
    async with pool.acquire() as first, pool.acquire() as second:
        async with first.transaction():
            assert await repository.claim_partitions(first, GROUP, [TP, OTHER]) == {TP: 0, OTHER: 0}
            await repository.advance_partitions(first, GROUP, {TP: 120, OTHER: 7})

            async def take_over():
                async with second.transaction():
                    return await repository.claim_partitions(second, GROUP, [TP])

            taking_over = asyncio.ensure_future(take_over())
            pid = second.get_server_pid()
            assert await eventually(lambda: _waiting_for_a_lock(pool, pid), bool), "the second gate did not wait"
            assert not taking_over.done()
        assert await taking_over == {TP: 120}, "it sees how far the committed batch got"

        async with first.transaction():
            await repository.claim_partitions(first, GROUP, [TP])
            await repository.advance_partitions(first, GROUP, {TP: 90})  # a stale batch's end
        async with first.transaction():
            assert await repository.claim_partitions(first, GROUP, [TP]) == {TP: 120}, "progress never goes back"

        with pytest.raises(RuntimeError):
            async with first.transaction():
                await repository.claim_partitions(first, GROUP, [TP])
                await repository.advance_partitions(first, GROUP, {TP: 500})
                raise RuntimeError("the Kafka transaction failed")
        assert await repository.claim_partitions(first, GROUP, [TP]) == {TP: 120}, "a rolled-back batch moves nothing"
        assert await repository.claim_partitions(first, "bench-gate", [TP]) == {TP: 0}, "each group its own"


async def test_two_gates_reading_stale_offsets_decide_every_record_exactly_once(pool):
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    end = 400  # the partition's records 0..end-1
    committed: list[int] = []  # the offsets decided by committed batches, in commit order
    kafka_offset = 0  # the group's committed offset, as stale as a hand-over makes it

    async def gate(name: str) -> None:
        nonlocal kafka_offset
        while kafka_offset < end:
            start = max(0, kafka_offset - rng.randrange(0, 30))  # may read from before the last commit
            fetched = list(range(start, min(end, start + rng.randrange(1, 25))))
            async with pool.acquire() as conn:
                try:
                    async with conn.transaction():
                        up_to = (await repository.claim_partitions(conn, GROUP, [TP]))[TP]
                        fresh = [offset for offset in fetched if offset >= up_to]  # as Gate._undecided
                        if fresh:
                            await repository.advance_partitions(conn, GROUP, {TP: fresh[-1] + 1})
                        await asyncio.sleep(rng.random() / 200)  # the Kafka transaction
                        if rng.random() < 0.15:
                            raise LookupError("the batch failed")
                        committed.extend(fresh)  # the Kafka transaction committed
                        if fresh:
                            kafka_offset = max(kafka_offset, fresh[-1] + 1)
                except LookupError:
                    pass

    await asyncio.wait_for(asyncio.gather(gate("a"), gate("b")), timeout=120)

    assert committed == list(range(end)), f"seed {SEED}: decided out of order, twice or not at all"
