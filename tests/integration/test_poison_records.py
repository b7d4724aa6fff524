"""A record that parses but cannot be stored does not wedge its consumer: it goes to the
dead-letter topic with the reason, and the records around it are stored. On the real broker
and the real PostgreSQL, through the consumer every service uses."""

import asyncio
import json
import uuid

import asyncpg

from contracts.topics import DEAD_LETTERS
from services.runtime.consuming import batch_consumer, from_value
from services.runtime.kafka import kafka_broker
from tests.support.kafka import create_topic, find_records, produce


async def _table(dsn: str) -> str:
    # jsonb refuses \u0000, and an int column refuses what does not fit: the two faults seen on the board
    name = f"poison_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE {name} (marker text PRIMARY KEY, data jsonb NOT NULL, n integer NOT NULL)")
    finally:
        await conn.close()
    return name


class Store:
    """A handler like the services' own: one transaction per batch, idempotent by key."""

    def __init__(self, pool: asyncpg.Pool, table: str, want: int) -> None:
        self.pool, self.table, self.want = pool, table, want
        self.batches = 0
        self.fail_next_with: Exception | None = None
        self.done = asyncio.Event()

    async def __call__(self, items: list[dict]) -> None:
        self.batches += 1
        if self.fail_next_with is not None:
            error, self.fail_next_with = self.fail_next_with, None
            raise error
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                f"INSERT INTO {self.table} (marker, data, n) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [(item["marker"], json.dumps(item["data"]), item["n"]) for item in items],
            )
            if await conn.fetchval(f"SELECT count(*) FROM {self.table}") >= self.want:
                self.done.set()


async def _run(infra, store: Store, topic: str, records: list[bytes]) -> None:
    broker = kafka_broker(infra.kafka_settings(), "test-poison")
    batch_consumer(broker, topic, f"test-{uuid.uuid4().hex}", from_value(json.loads), store)
    await produce(infra.kafka_options(), topic, *records)
    async with broker:
        await broker.start()
        await asyncio.wait_for(store.done.wait(), timeout=60)


def _record(marker: str, data: object, n: int = 1) -> bytes:
    return json.dumps({"marker": marker, "data": data, "n": n}).encode()


async def test_records_that_cannot_be_stored_are_dead_lettered_and_the_rest_stored(infra):
    topic = f"test.poison.{uuid.uuid4().hex}"
    await create_topic(infra.kafka_options(), topic)
    table = await _table(infra.dsn)
    run = uuid.uuid4().hex
    good = [f"{run}-good-{i}" for i in range(3)]
    nul, too_big = f"{run}-nul", f"{run}-too-big"
    records = [
        _record(good[0], {"unit": "ok"}),
        _record(nul, {"unit": "a\x00b"}),  # json.dumps writes the \u0000 escape, which jsonb refuses
        _record(good[1], {"unit": "ok"}),
        _record(too_big, {"unit": "ok"}, n=2**40),
        _record(good[2], {"unit": "ok"}),
    ]
    async with asyncpg.create_pool(infra.dsn, min_size=1, max_size=2) as pool:
        store = Store(pool, table, want=len(good))

        await _run(infra, store, topic, records)

        stored = {row["marker"] for row in await pool.fetch(f"SELECT marker FROM {table}")}
    assert stored == set(good)
    letters = await find_records(
        infra.kafka_options(), DEAD_LETTERS, lambda r: r.get("origin_topic") == topic, timeout=30
    )
    by_marker = {json.loads(letter["value"])["marker"]: letter for letter in letters}
    assert set(by_marker) == {nul, too_big}
    assert [by_marker[m]["origin_offset"] for m in (nul, too_big)] == [1, 3]
    assert "SQLSTATE 22P05" in by_marker[nul]["reason"]  # untranslatable character
    assert "the record could not be stored" in by_marker[too_big]["reason"]
    assert all("a\x00b" not in letter["reason"] and str(2**40) not in letter["reason"] for letter in letters)


async def test_an_error_that_is_not_about_the_data_makes_the_consumer_read_the_batch_again(infra):
    topic = f"test.poison.{uuid.uuid4().hex}"
    await create_topic(infra.kafka_options(), topic)
    table = await _table(infra.dsn)
    markers = [f"{uuid.uuid4().hex}-{i}" for i in range(3)]
    async with asyncpg.create_pool(infra.dsn, min_size=1, max_size=2) as pool:
        store = Store(pool, table, want=len(markers))
        store.fail_next_with = ConnectionRefusedError("the database is away")

        await _run(infra, store, topic, [_record(m, {"unit": "ok"}) for m in markers])

        stored = {row["marker"] for row in await pool.fetch(f"SELECT marker FROM {table}")}
    assert stored == set(markers)
    assert store.batches >= 2  # refused once, then read again: nothing was dead-lettered
    letters = await find_records(infra.kafka_options(), DEAD_LETTERS, lambda r: r.get("origin_topic") == topic, 3)
    assert letters == []
