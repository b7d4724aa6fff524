"""Which rows of a partly acknowledged relay batch may be marked published."""

import asyncio
import random

import asyncpg

from services.runtime.outbox import Relay, publishable_prefix


def test_every_acknowledged_row_is_marked_when_nothing_failed():
    assert publishable_prefix(["a", "b", "a"], [True, True, True]) == [0, 1, 2]


def test_a_keys_rows_after_its_first_failure_wait_for_it_other_keys_go_on():
    keys = ["a", "b", "a", "c", "a", "b"]
    acked = [True, False, True, True, False, True]
    assert publishable_prefix(keys, acked) == [0, 2, 3]


def test_against_a_model_marked_rows_are_acknowledged_and_leave_no_hole_in_a_key():
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for _ in range(2000):
        keys = [rng.choice("abcd") for _ in range(rng.randrange(0, 12))]
        acked = [rng.random() < 0.7 for _ in keys]
        marked = set(publishable_prefix(keys, acked))
        for key in set(keys):
            rows = [i for i, k in enumerate(keys) if k == key]
            first_failure = next((i for i in rows if not acked[i]), None)
            expected = {i for i in rows if first_failure is None or i < first_failure}
            assert {i for i in marked if keys[i] == key} == expected, f"seed {seed}: {keys} {acked}"


class BrokenThenEmptyPool:
    """A pool whose first queries fail as asyncpg fails on a connection broken by a restart."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.queries = 0

    async def fetch(self, *args):
        self.queries += 1
        if self.failures:
            self.failures -= 1
            raise asyncpg.exceptions._base.InternalClientError("cannot switch to state 12")
        return []

    async def fetchrow(self, *args):
        return {"backlog": 0, "oldest": None}


class NoProducer:
    async def get(self):
        raise AssertionError("no rows: nothing to send")

    async def discard(self):
        pass


async def test_a_relay_outlives_errors_of_a_database_that_restarts():
    pool = BrokenThenEmptyPool(failures=3)
    relay = Relay(pool, NoProducer(), "outbox", "events.region-14", "accepted_at")
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            if pool.queries > 3:
                break
        assert not task.done(), task.exception() if task.done() else None
        assert pool.queries > 3, "the relay went back to its rows after the errors"
    finally:
        task.cancel()
