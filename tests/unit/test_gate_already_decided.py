"""A gate that takes partitions over skips what another gate of its group decided already
(services/consent/gate.py, `Gate._undecided`; the progress rows in schema.sql): held against a
reference model on random batches and progress. The locking itself is on the real PostgreSQL in
tests/integration/test_gate_progress.py."""

import random
from types import SimpleNamespace

from aiokafka import TopicPartition

from services.consent.gate import Gate

SEED = random.randrange(2**32)
TOPICS = ["events.region-14", "events.kommun-1489"]


class Consumer:
    def __init__(self, assigned) -> None:
        self.assigned = assigned
        self.seeks: dict[TopicPartition, int] = {}

    def assignment(self):
        return self.assigned

    def seek(self, tp, offset) -> None:
        self.seeks[tp] = offset


def test_records_below_a_partition_s_progress_are_skipped_and_the_consumer_moved_past_them():
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    for _ in range(500):
        batch, decided = {}, {}
        for topic in TOPICS:
            for partition in range(rng.randrange(1, 4)):
                tp = TopicPartition(topic, partition)
                first = rng.randrange(0, 50)
                batch[tp] = [SimpleNamespace(offset=o) for o in range(first, first + rng.randrange(1, 20))]
                if rng.random() < 0.7:
                    decided[(topic, partition)] = rng.randrange(0, 80)
        assigned = {tp for tp in batch if rng.random() < 0.8}
        gate = Gate(Consumer(assigned), producer=None, pool=None, pseudonyms=None, statutory={})

        undecided = gate._undecided(batch, decided)

        # the model: a record is decided again only from where its partition's progress stands
        expected, seeks, skipped = {}, {}, 0
        for tp, records in batch.items():
            up_to = decided.get((tp.topic, tp.partition), 0)
            kept = [r.offset for r in records if r.offset >= up_to]
            skipped += len(records) - len(kept)
            if kept:
                expected[tp] = kept
            elif up_to > records[-1].offset + 1 and tp in assigned:
                seeks[tp] = up_to
        assert {tp: [r.offset for r in rs] for tp, rs in undecided.items()} == expected, f"seed {SEED}"
        assert gate._consumer.seeks == seeks, f"seed {SEED}"
        assert gate.already_decided == skipped, f"seed {SEED}"
