"""A rebalance takes the gate's partitions only between batches (services/consent/gate.py,
_HandOver): it waits for the batch being decided, and a batch fetched before a hand-over that
already happened is rewound, never decided. (bench.replicas saw a batch decided twice when a
second gate joined mid-batch: aiokafka's transactional offset commit carries no generation.)"""

import asyncio
from types import SimpleNamespace

from aiokafka import TopicPartition

from services.consent.gate import Gate
from services.runtime.producers import Backoff

TP = TopicPartition("events.region-14", 0)
RECORD = SimpleNamespace(timestamp=0)  # what the loop reads of a record; process() here is a recording one


class Consumer:
    """An aiokafka consumer as far as the gate's batch loop asks: one batch, then nothing."""

    def __init__(self, on_fetch=None) -> None:
        self.batches = [{TP: [RECORD]}]
        self.on_fetch = on_fetch
        self.rewound: list[TopicPartition] = []

    async def getmany(self, timeout_ms, max_records):
        batch = self.batches.pop(0) if self.batches else {}
        if batch and self.on_fetch:
            await self.on_fetch()
        return batch

    def assignment(self):
        return {TP}

    async def seek_to_committed(self, *partitions):
        self.rewound += partitions
        return {tp: 7 for tp in partitions}


class RecordingGate(Gate):
    def __init__(self, consumer, during_process=None) -> None:
        super().__init__(consumer, producer=None, pool=None, pseudonyms=None, statutory={})
        self.during_process = during_process
        self.processed: list[dict] = []
        self.log: list[str] = []

    async def process(self, batch) -> None:
        self.log.append("process begins")
        if self.during_process:
            await self.during_process()
        self.processed.append(batch)
        self.log.append("committed")


async def test_a_revocation_while_a_batch_is_decided_waits_for_its_commit():
    gate: RecordingGate

    async def revoke_meanwhile():
        revocation = asyncio.ensure_future(gate._handover.on_partitions_revoked({TP}))
        await asyncio.sleep(0.05)  # give the rebalance every chance to go first
        gate.log.append("revocation done" if revocation.done() else "revocation waiting")
        gate.revocation = revocation

    gate = RecordingGate(Consumer(), during_process=revoke_meanwhile)

    await gate._one_batch(Backoff("test"))
    await gate.revocation
    gate.log.append("revocation done")

    assert gate.log == ["process begins", "revocation waiting", "committed", "revocation done"]
    assert gate.processed == [{TP: [RECORD]}] and gate._consumer.rewound == []


async def test_a_batch_fetched_before_a_hand_over_is_rewound_not_decided():
    gate: RecordingGate

    async def rebalance_right_after_the_fetch():
        # the records are in hand; the hand-over runs before the gate takes the batch lock
        asyncio.get_running_loop().call_soon(asyncio.ensure_future, gate._handover.on_partitions_revoked({TP}))

    consumer = Consumer(on_fetch=rebalance_right_after_the_fetch)
    gate = RecordingGate(consumer)
    original_fetch = gate.fetch

    async def fetch_then_yield(*args, **kwargs):
        batch = await original_fetch(*args, **kwargs)
        await asyncio.sleep(0.01)  # the rebalance's callback runs here
        return batch

    gate.fetch = fetch_then_yield

    await gate._one_batch(Backoff("test"))

    assert gate.processed == [] and consumer.rewound == [TP]


async def test_a_batch_fetched_after_the_first_assignment_is_decided():
    gate = RecordingGate(Consumer())
    await gate._handover.on_partitions_revoked(set())  # the first join revokes nothing, but counts

    await gate._one_batch(Backoff("test"))

    assert gate.processed == [{TP: [RECORD]}]


async def test_stopping_waits_for_the_batch_being_decided_and_decides_no_more():
    gate: RecordingGate

    async def stop_meanwhile():
        gate.stopping = asyncio.ensure_future(gate.stop(timeout=5))
        await asyncio.sleep(0.05)  # give the stop every chance to go first
        gate.log.append("stop done" if gate.stopping.done() else "stop waiting")

    gate = RecordingGate(Consumer(), during_process=stop_meanwhile)
    await gate._one_batch(Backoff("test"))
    await gate.stopping
    gate._consumer.batches = [{TP: [RECORD]}]  # another batch fetched after the stop
    await gate._one_batch(Backoff("test"))

    assert gate.log == ["process begins", "stop waiting", "committed"]
    assert len(gate.processed) == 1, "nothing is decided once the gate is stopping"
    assert gate._consumer.rewound == [], "what the stopped gate fetched goes to the next owner, untouched"


async def test_a_stopped_gate_idles_until_its_task_is_cancelled():
    gate = RecordingGate(Consumer())
    await gate.stop(timeout=5)
    task = asyncio.ensure_future(gate.run())
    await asyncio.sleep(0.05)
    assert not task.done(), "run() returning would look to the supervisor like a dead gate"
    task.cancel()
    assert gate.processed == []


async def test_stopping_gives_up_waiting_for_a_batch_that_does_not_finish():
    gate = RecordingGate(Consumer(), during_process=lambda: asyncio.Event().wait())
    deciding = asyncio.ensure_future(gate._one_batch(Backoff("test")))
    await asyncio.sleep(0.01)
    await gate.stop(timeout=0.1)
    assert not gate._handover.closed and not deciding.done()
    deciding.cancel()
