"""After a failed batch the gate goes back to its committed offsets — also on a partition where
nothing was committed yet (aiokafka's seek_to_committed leaves those where they are, and the
failed batch's events would never be decided: seen in tests/faults/test_broker_outage.py run
first on a fresh stack)."""

from aiokafka import TopicPartition

from services.consent.gate import Gate

DONE, FRESH, AT_ZERO = (TopicPartition("events.region-14", p) for p in range(3))


class Consumer:
    """What the gate's rewind asks of an aiokafka consumer, and where each partition was sent."""

    def __init__(self) -> None:
        self.committed = {DONE: 42, FRESH: None, AT_ZERO: 0}
        self.positions: dict[TopicPartition, object] = {}

    def assignment(self):
        return set(self.committed)

    async def seek_to_committed(self, *partitions):
        for tp in partitions:
            if self.committed[tp]:  # as aiokafka 0.14 does: only an offset above 0
                self.positions[tp] = self.committed[tp]
        return {tp: self.committed[tp] for tp in partitions}

    async def seek_to_beginning(self, *partitions):
        for tp in partitions:
            self.positions[tp] = "beginning"


async def test_a_partition_with_nothing_committed_goes_back_to_its_beginning():
    consumer = Consumer()
    gate = Gate(consumer, producer=None, pool=None, pseudonyms=None, statutory={})

    await gate._rewind([DONE, FRESH, AT_ZERO])

    assert consumer.positions == {DONE: 42, FRESH: "beginning", AT_ZERO: "beginning"}
