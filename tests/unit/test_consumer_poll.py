"""The batch consumers' poll (services/runtime/consuming.py `_next_batch`): FastStream's batch
subscriber slept a whole wait after every empty one, and a record arriving in that sleep waited for
it; ours sleeps only after an empty answer that came early (aiokafka gives one when the assignment
changes), for the rest of the wait, so that nothing spins."""

from types import SimpleNamespace

import pytest

from services.runtime import consuming


class Clock:
    """The event loop's time, moved by the fake consumer instead of by waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []


class FakeConsumer:
    def __init__(self, clock: Clock, answers: list[tuple[float, dict]]) -> None:
        self.clock, self.answers, self.asked = clock, answers, []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        self.asked.append((timeout_ms, max_records))
        took, batches = self.answers.pop(0)
        self.clock.now += took
        return batches


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(consuming.asyncio, "get_running_loop", lambda: SimpleNamespace(time=lambda: clock.now))

    async def sleep(seconds: float) -> None:
        clock.slept.append(round(seconds, 3))
        clock.now += seconds

    monkeypatch.setattr(consuming.asyncio, "sleep", sleep)
    return clock


SUBSCRIBER = SimpleNamespace(batch_timeout_ms=500, max_records=500)


async def test_records_of_every_partition_come_back_in_one_tuple_at_once(clock):
    consumer = FakeConsumer(clock, [(0.002, {"p0": ["a", "b"], "p1": ["c"]})])
    assert await consuming._next_batch(SUBSCRIBER, consumer) == ("a", "b", "c")
    assert consumer.asked == [(500, 500)]
    assert clock.slept == []


async def test_a_wait_that_ends_empty_is_not_followed_by_a_sleep(clock):
    consumer = FakeConsumer(clock, [(0.5, {})])
    assert await consuming._next_batch(SUBSCRIBER, consumer) == ()
    assert clock.slept == []  # FastStream's get_msg slept 0.5 s here, and a record arriving then waited


async def test_an_early_empty_answer_is_followed_by_the_rest_of_the_wait(clock):
    consumer = FakeConsumer(clock, [(0.1, {}), (0.0, {})])
    assert await consuming._next_batch(SUBSCRIBER, consumer) == ()
    assert clock.slept == [0.4]
    assert await consuming._next_batch(SUBSCRIBER, consumer) == ()
    assert clock.slept == [0.4, 0.5]  # an answer at once, empty: no busy loop


def test_the_consumers_made_here_poll_with_it():
    from faststream.kafka import KafkaBroker

    broker = KafkaBroker("127.0.0.1:1")
    consuming.batch_consumer(broker, "deliveries.kommun-1489", "g", consuming.from_value(bytes), lambda _: None)
    (subscriber,) = broker.subscribers
    assert subscriber.get_msg.func is consuming._next_batch and subscriber.get_msg.args == (subscriber,)
    assert subscriber.batch_timeout_ms == consuming.POLL_MS
