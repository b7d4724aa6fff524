"""What a hot statement reads does not grow with its table, on the real PostgreSQL.

The inbox, the board's events and a failing endpoint's backlog only grow, and four statements
once read all of them on every call: the webhook queue (its cursor joined to the inbox), the
board store's load of a batch (a key list ORed with a person list: a sequential scan), a claim
without order (every delivery waiting for a retry) and the inbox page (it sorted the inbox).
Each scenario runs the real function on a connection that notes its statements, then has
PostgreSQL run each statement again under `EXPLAIN (ANALYZE, BUFFERS)` in a transaction rolled
back, at a small table and at one four times larger: the buffers it touched may grow by a
quarter at most (each row it touches descends indexes one level deeper), where a scan of the
table grows fourfold. Buffers, not time:
they do not depend on the machine's load.
"""

import contextlib
import json
import uuid

import pytest

from services.board.schema import SCHEMA_SQL as BOARD_SCHEMA_SQL
from services.board.store import _load
from services.gateway.bootstrap import SCHEMA_SQL as GATEWAY_SCHEMA_SQL
from services.gateway.inbox import PgInbox
from services.gateway.webhooks.queue import Statistics, claim_due, enqueue_new, record_failed
from services.runtime.db import create_pool
from tests.unit.fakes_board import ALINGSAS, PSEUDONYMS, REGION, crossed, forwarded

pytestmark = pytest.mark.infra

SMALL, LARGE = 5_000, 20_000
GROWTH, SLACK = 1.25, 12  # a level more in each index descent; a page split, a visibility-map page
EVENT = "x" * 1500  # an event as stored, about (bench.e2e's: 1-2 KB): what a scan reads past


class Noted:
    """A connection that notes every statement it is asked to run (and runs it)."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self.statements: list[tuple[str, tuple]] = []

    async def fetch(self, sql: str, *args):
        self.statements.append((sql, args))
        return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args):
        self.statements.append((sql, args))
        return await self._conn.fetchrow(sql, *args)

    async def execute(self, sql: str, *args):
        self.statements.append((sql, args))
        return await self._conn.execute(sql, *args)


@contextlib.asynccontextmanager
async def rolled_back(conn):
    """A transaction that is rolled back however it ends."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield
    finally:
        await transaction.rollback()


async def buffers(conn, statements: list[tuple[str, tuple]]) -> list[int]:
    """The shared buffers each statement touches, run again under EXPLAIN ANALYZE and rolled back:
    the more of its custom plan and its generic one (asyncpg prepares each statement once, and
    PostgreSQL may plan a prepared statement for any parameters after its fifth run)."""
    touched = []
    for sql, args in statements:
        most = 0
        for mode in ("force_custom_plan", "force_generic_plan"):
            async with rolled_back(conn):
                await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
                [plan] = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args))
            most = max(most, plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"])
        touched.append(most)
    return touched


async def at_both_sizes(grow, measure) -> tuple[list[int], list[int]]:
    """`measure()` after growing the tables to SMALL rows, and again after growing them to LARGE."""
    await grow(0, SMALL)
    small = await measure()
    await grow(SMALL, LARGE)
    return small, await measure()


def assert_flat(small: list[int], large: list[int]) -> None:
    assert len(small) == len(large)
    for at_small, at_large in zip(small, large, strict=True):
        assert at_large <= GROWTH * at_small + SLACK, f"buffers: {small} at {SMALL} rows, {large} at {LARGE}"


@pytest.fixture
async def gateway(infra):
    pool = await create_pool(
        infra.dsn, f"gateway_costs_{uuid.uuid4().hex[:8]}", GATEWAY_SCHEMA_SQL, min_size=1, max_size=2
    )
    yield pool
    await pool.close()


@pytest.fixture
async def board(infra):
    pool = await create_pool(infra.dsn, f"board_costs_{uuid.uuid4().hex[:8]}", BOARD_SCHEMA_SQL, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def subscribed(conn) -> uuid.UUID:
    subscription = uuid.uuid4()
    await conn.execute(
        "INSERT INTO webhook_subscriptions (id, url, secret, last_seq) VALUES ($1, 'https://x', 's', 0)", subscription
    )
    return subscription


async def fill_inbox(conn, start: int, end: int) -> None:
    await conn.execute(
        """INSERT INTO inbox (seq, event_id, sender, event_type, event, received_at)
           SELECT n, 'event-' || n, 'region-14', 'se.samordna.region.visit.missed.v1',
                  json_build_object('pad', $3::text)::text, now()
           FROM generate_series($1::bigint + 1, $2::bigint) AS n""",
        start, end, EVENT,
    )  # fmt: skip
    await conn.execute("ANALYZE inbox")


async def test_queueing_a_subscriptions_new_rows_reads_them_not_the_inbox(gateway):
    async with gateway.acquire() as conn:
        subscription = await subscribed(conn)

        async def grow(start: int, end: int) -> None:
            await fill_inbox(conn, start, end)
            # caught up but for the last ten rows, as a subscription is between two notifications
            await conn.execute("UPDATE webhook_subscriptions SET last_seq = $2 WHERE id = $1", subscription, end - 10)

        async def measure() -> list[int]:
            noted = Noted(conn)
            async with rolled_back(conn):  # the ten stay new for the EXPLAIN
                assert (await enqueue_new(noted, subscription)).queued == 10
            return await buffers(conn, noted.statements)

        assert_flat(*await at_both_sizes(grow, measure))


async def test_the_inbox_page_reads_what_it_shows_not_the_inbox(gateway):
    async with gateway.acquire() as conn:

        async def grow(start: int, end: int) -> None:
            await fill_inbox(conn, start, end)
            # a receipt overdue in every thousand, a tenth of those acknowledged since
            await conn.execute(
                """UPDATE inbox SET receipt_due_at = received_at - interval '1 day',
                                    acknowledged_at = CASE WHEN seq % 10000 = 0 THEN now() END
                   WHERE seq > $1 AND seq % 1000 = 0""",
                start,
            )
            await conn.execute("VACUUM ANALYZE inbox")

        async def measure() -> list[int]:
            noted = Noted(conn)
            assert len(await PgInbox(noted).latest(100)) == 100
            return await buffers(conn, noted.statements)

        assert_flat(*await at_both_sizes(grow, measure))


async def test_a_claim_without_order_reads_what_is_due_not_the_backlog_waiting_for_its_retry(gateway):
    async with gateway.acquire() as conn:
        subscription = await subscribed(conn)

        async def grow(start: int, end: int) -> None:
            await fill_inbox(conn, start, end)
            # an endpoint that was down: the older four fifths wait for their retry in an hour,
            # the newest fifth is due now (queued since, not tried yet)
            await conn.execute(
                """INSERT INTO webhook_deliveries (subscription_id, seq, event_id, event_type, event_number)
                   SELECT $1, seq, event_id, event_type, seq FROM inbox WHERE seq > $2""",
                subscription, start,
            )  # fmt: skip
            await conn.execute(
                """UPDATE webhook_deliveries
                   SET attempts = CASE WHEN seq > $1::bigint * 4 / 5 THEN 0 ELSE 3 END,
                       next_attempt_at = CASE WHEN seq > $1::bigint * 4 / 5 THEN now() - interval '1 second'
                                              ELSE now() + interval '1 hour' END""",
                end,
            )
            await conn.execute("VACUUM ANALYZE webhook_deliveries")

        async def measure() -> list[int]:
            noted = Noted(conn)
            async with rolled_back(conn):  # the sixteen stay due for the EXPLAIN
                assert len(await claim_due(noted, subscription, 16, lease=60)) == 16
            return await buffers(conn, noted.statements)

        assert_flat(*await at_both_sizes(grow, measure))


async def test_marks_and_failures_of_a_burst_read_the_rows_they_touch_not_the_backlog(gateway):
    """A subscription catching up (new, or after a quiet spell): PostgreSQL's statistics, taken
    when another subscription's deliveries filled the table and few were pending, know of no pending
    row of it. The worker's Statistics keeps them up as it queues; without them, a claim that marks
    eight deliveries and the record of one failure walk every pending delivery of the subscription
    (they take the index of due rows: buffers [397, 111] -> [724, 392] at 5 000 -> 20 000 rows;
    kept up, [334, 16] -> [376, 18])."""
    async with gateway.acquire() as conn:
        earlier, catching_up = await subscribed(conn), await subscribed(conn)
        statistics = Statistics(rows=1000, seconds=0)

        async def grow(start: int, end: int) -> None:
            await fill_inbox(conn, start, end)
            await conn.execute(  # everything delivered long ago to the earlier subscription
                """INSERT INTO webhook_deliveries (subscription_id, seq, event_id, event_type, event_number,
                                                   status, delivered_at)
                   SELECT $1, seq, event_id, event_type, seq, 'delivered', now() FROM inbox WHERE seq > $2""",
                earlier, start,
            )  # fmt: skip
            if start == 0:
                await conn.execute("ANALYZE webhook_deliveries")  # the statistics of a quiet table
            while True:  # as the worker queues them
                enqueued = await enqueue_new(conn, catching_up)
                await statistics.queued(conn, enqueued.queued)
                if not enqueued.more:
                    break

        async def measure() -> list[int]:
            noted = Noted(conn)
            sent = await claim_due(conn, catching_up, 8, lease=60)
            async with rolled_back(conn):  # the EXPLAIN runs them again on the same eight
                await claim_due(noted, catching_up, 8, lease=60, delivered=sent)
                await record_failed(noted, catching_up, sent[-1], "HTTP 503", None)
            return await buffers(conn, noted.statements)

        assert_flat(*await at_both_sizes(grow, measure))


async def test_loading_what_a_batch_touches_reads_its_events_not_the_board(board):
    person = "199001012380"
    pseudonym = PSEUDONYMS.of(person)
    event = crossed("se.samordna.region.visit.missed.v1", person, (REGION, ALINGSAS), event_id="the-new-one")
    async with board.acquire() as conn:

        async def grow(start: int, end: int) -> None:
            # other persons' events, a few each, and five of this person's
            await conn.execute(
                """INSERT INTO events (sender, event_id, person_pseudonym, person_id, event_type, event_time,
                                       parties, data, decided_at, consent_ids)
                   SELECT 'region-14', 'event-' || n, CASE WHEN n <= 5 THEN $3 ELSE 'person-' || (n / 4) END,
                          'masked', 'se.samordna.region.visit.missed.v1', now() - n * interval '1 minute',
                          ARRAY['region-14', 'kommun-1489'], jsonb_build_object('pad', $4::text), now(), NULL
                   FROM generate_series($1::bigint + 1, $2::bigint) AS n""",
                start, end, pseudonym, EVENT,
            )  # fmt: skip
            await conn.execute(  # and as many consents ended over the years, of other persons
                """INSERT INTO revoked_consents (consent_id, person_pseudonym, revoked_at)
                   SELECT md5('consent-' || n)::uuid, 'person-' || n, now() - n * interval '1 hour'
                   FROM generate_series($1::bigint + 1, $2::bigint) AS n""",
                start, end,
            )  # fmt: skip
            await conn.execute("ANALYZE events")
            await conn.execute("ANALYZE revoked_consents")

        async def measure() -> list[int]:
            noted = Noted(conn)
            await _load(noted, [pseudonym], [forwarded(event, "00000000-0000-4000-8000-000000000001")])
            return await buffers(conn, noted.statements)

        assert_flat(*await at_both_sizes(grow, measure))
