"""Gate.fetch: a short batch is filled from what arrives within the linger, never past max_records,
and a failure while lingering hands over the batch in hand (its records left the consumer)."""

from aiokafka import ConsumerRecord, TopicPartition

from services.consent.gate import Gate

TP0, TP1 = TopicPartition("events.region-14", 0), TopicPartition("events.region-14", 1)


def _records(tp: TopicPartition, first: int, count: int) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(tp.topic, tp.partition, o, 0, 0, b"k", b"{}", None, 1, 2, ())
        for o in range(first, first + count)
    ]


class ArrivingConsumer:
    """Answers each getmany with the next of `arrivals` (then nothing), taking at most max_records."""

    def __init__(self, *arrivals) -> None:
        self.arrivals = [dict(a) for a in arrivals]
        self.calls: list[int] = []

    async def getmany(self, timeout_ms: float = 0, max_records: int | None = None):
        self.calls.append(max_records)
        if not self.arrivals:
            return {}
        arrival = self.arrivals.pop(0)
        if isinstance(arrival.get("raise"), Exception):
            raise arrival["raise"]
        taken, room = {}, max_records
        for tp, records in arrival.items():
            if room:
                taken[tp], room = records[:room], room - len(records[:room])
        return taken


def _gate(consumer, linger_ms: float, max_records: int = 500) -> Gate:
    return Gate(consumer, None, None, None, {}, max_records=max_records, linger_ms=linger_ms)


async def test_without_linger_a_fetch_is_one_getmany():
    consumer = ArrivingConsumer({TP0: _records(TP0, 0, 1)}, {TP0: _records(TP0, 1, 1)})
    batch = await _gate(consumer, 0).fetch()
    assert [r.offset for r in batch[TP0]] == [0] and consumer.calls == [500]


async def test_lingering_joins_what_arrives_in_order_up_to_max_records():
    consumer = ArrivingConsumer(
        {TP0: _records(TP0, 0, 1)}, {TP1: _records(TP1, 0, 2), TP0: _records(TP0, 1, 1)}, {TP0: _records(TP0, 2, 6)}
    )
    batch = await _gate(consumer, 60_000, max_records=6).fetch()
    assert [r.offset for r in batch[TP0]] == [0, 1, 2, 3] and [r.offset for r in batch[TP1]] == [0, 1]
    assert consumer.calls == [6, 5, 2]  # never asks for more than the batch has room for


async def test_lingering_ends_at_its_deadline_when_nothing_more_arrives():
    consumer = ArrivingConsumer({TP0: _records(TP0, 0, 1)})
    batch = await _gate(consumer, 5).fetch()
    assert [r.offset for r in batch[TP0]] == [0] and len(consumer.calls) >= 2


async def test_a_failure_while_lingering_hands_over_the_batch_in_hand():
    consumer = ArrivingConsumer({TP0: _records(TP0, 0, 2)}, {"raise": OSError("broker away")})
    batch = await _gate(consumer, 60_000).fetch()
    assert [r.offset for r in batch[TP0]] == [0, 1]


async def test_an_empty_fetch_does_not_linger():
    consumer = ArrivingConsumer()
    assert await _gate(consumer, 60_000).fetch() == {} and consumer.calls == [500]
