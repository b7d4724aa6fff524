"""The gate: reads every events topic, decides each event, forwards what may cross.

Per batch, in this order:
1. open a PostgreSQL transaction, lock the batch's partitions' progress rows and drop what another
   gate of the group has decided already (a hand-over), then share-lock the consents of every
   person in the batch;
2. decide the batch with the pure `decide_batch`, take each recipient's next delivery numbers
   and the keys that seal the board's copies (services/consent/erasure.py), and ask the pure
   `plan_decided` (services/consent/plan.py) for every record the batch writes;
3. in one Kafka transaction, write them — the deliveries (each with its recipient's number in
   the `samordna-delivery-seq` header), the shared copy for the board, the decision records,
   dead letters — and the consumed offsets; commit it;
4. end the PostgreSQL transaction, releasing the locks.

A revocation updates the consent row, so it waits for every batch that read the consent
(step 1) until that batch's outputs are committed (step 3), and every batch that starts
after the revocation sees it. Offsets move only together with the outputs.

After any failure while its Kafka transaction is open, the gate cannot know whether the
transaction committed (a commit that timed out may still be applied). Before it lets go of the
consent locks it builds a new transactional producer with the same transactional id: the
broker then fences the old producer and completes or aborts its transaction, so nothing of the
failed batch can become visible after a revocation that waited for those locks. Then it goes
back to its committed offsets and decides the batch again.

Delivery numbers are taken in the same PostgreSQL transaction, so an aborted batch gives its
numbers back. The one case left: PostgreSQL's COMMIT lost after Kafka's commit succeeded —
then the next batch hands the same numbers out again, and a subscriber sees a number twice
(never a gap) and tells the events apart by id.
"""

import asyncio
import functools
import logging
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from contracts.topics import EVENTS_TOPIC_PATTERN
from services.consent import erasure, repository
from services.consent.domain import StatutoryBasis
from services.consent.plan import (
    CONSUMER_NAME,
    DECISIONS_PER_RECORD,
    BatchPlan,
    Outgoing,
    decide_batch,
    plan_decided,
    read_batch,
)
from services.runtime.consuming import coordination_ended
from services.runtime.metrics import CONSUMER_RESTARTS, GATE_ALREADY_DECIDED, OldestUncommitted
from services.runtime.metrics import DEAD_LETTERS as DEAD_LETTER_COUNT
from services.runtime.metrics import GATE_DECISIONS as DECISION_COUNT
from services.runtime.producers import Backoff, RecoveringProducer, retrieve_error
from services.runtime.pseudonym import Pseudonymizer

__all__ = ["CONSUMER_NAME", "DECISIONS_PER_RECORD", "GROUP_ID", "PRODUCER_OPTIONS", "Gate"]

log = logging.getLogger(__name__)

GROUP_ID = "samordna-gate"
TRANSACTION_TIMEOUT = 30.0  # seconds for one batch's Kafka transaction, commit included
# The gate's transactional producer (with its transactional_id; bootstrap.py). A transaction begun
# while the broker still writes the last one's markers is answered CONCURRENT_TRANSACTIONS, and
# aiokafka asks again after `retry_backoff_ms` (only a first AddPartitionsToTxn after 20 ms):
# with the default 100 ms that wait was the median of a trickle's transaction (bench.gate_txn,
# docs/performance.md). Other retries (a broker away) come sooner too, within the same timeouts.
PRODUCER_OPTIONS = {"enable_idempotence": True, "linger_ms": 5, "retry_backoff_ms": 20}


class Gate:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        producer: RecoveringProducer,
        pool: asyncpg.Pool,
        pseudonyms: Pseudonymizer,
        statutory: dict[str, StatutoryBasis],
        max_records: int = 500,
        group_id: str = GROUP_ID,
        make_consumer: Callable[[], AIOKafkaConsumer] | None = None,
        linger_ms: float = 0.0,
    ) -> None:
        self._consumer = consumer
        self._make_consumer = make_consumer  # a new consumer, for one that lost its group for good
        self._producer = producer
        self._pool = pool
        self._pseudonyms = pseudonyms
        self._statutory = statutory
        self._max_records = max_records
        self._linger = linger_ms / 1000
        self._group_id = group_id
        self._partition_counts: dict[str, int] = {}
        self._oldest = OldestUncommitted(group_id)
        self._handover = _HandOver()
        self._fetched_during = 0
        self.decided = 0
        self.already_decided = 0

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    def subscribe(self) -> None:
        self._consumer.subscribe(pattern=EVENTS_TOPIC_PATTERN, listener=self._handover)

    async def run(self) -> None:
        backoff = Backoff("gate batch")
        while not self._handover.closed:
            if await self._one_batch(backoff):
                await self._restart_consumer()
        await asyncio.Event().wait()  # stopped (see `stop`): idle until the service cancels the task

    async def stop(self, timeout: float = 15) -> None:
        """Waits for the batch being decided to commit (or fail and be rewound), and no batch is
        decided after it: the service then cancels `run` and the consumer leaves its group with
        no transaction of this gate open — a task cancelled in the middle of a Kafka commit could
        leave a batch that commits while the gate taking over reads the offsets from before it."""
        try:
            async with asyncio.timeout(timeout), self._handover.batch_in_hand:
                self._handover.closed = True
        except TimeoutError:
            log.warning("the gate's batch in hand did not finish in %s s; stopping anyway", timeout)

    async def _one_batch(self, backoff: Backoff) -> bool:
        """Fetches, decides and commits one batch; True if the consumer lost its group for good."""
        try:
            batch = await self.fetch()
        except Exception as exc:  # the broker away; or the consumer lost its group for good
            await backoff.failed(exc)
            return coordination_ended(self._consumer) and self._make_consumer is not None
        if not batch:
            return False
        # A rebalance waits for the batch being decided (see _HandOver); a batch fetched before a
        # hand-over that has already happened is not decided: its partitions go back to their
        # committed offsets, here or at the gate that has them now.
        failure = None
        async with self._handover.batch_in_hand:
            if self._handover.closed:
                return False  # stopping: these records go to the next owner from the committed offsets
            stale = self._handover.count != self._fetched_during
            if not stale:
                for tp, records in batch.items():
                    self._oldest.holding(tp.topic, records[0].timestamp)
                try:
                    await self.process(batch)
                except Exception as exc:  # the broker, the database, a pool connection broken by a restart
                    # Nothing of this batch is visible (see the module's docstring): decide it again.
                    failure = exc
        if failure is not None:
            await backoff.failed(failure)
        if stale or failure is not None:
            await self._rewind(list(batch))
            return False
        backoff.succeeded()
        for tp in batch:
            self._oldest.committed(tp.topic)
        return False

    async def fetch(self, timeout_ms: int = 500) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The next batch: what the consumer has (waiting up to `timeout_ms` for a first record),
        then, while it is short of `max_records`, what more arrives within the linger — so that
        records trickling in share one transaction instead of paying one each."""
        batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self._max_records)
        self._fetched_during = self._handover.count  # the assignment these records came under
        if not batch or self._linger <= 0:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger
        count = sum(len(records) for records in batch.values())
        while count < self._max_records and (left := deadline - loop.time()) > 0:
            try:
                more = await self._consumer.getmany(timeout_ms=left * 1000, max_records=self._max_records - count)
            except Exception:  # noqa: BLE001 the batch in hand is decided first; the next fetch meets it again
                log.debug("lingering fetch failed; deciding the batch in hand", exc_info=True)
                break
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
                count += len(records)
        return batch

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            # The progress rows make a gate that took a partition over wait for the batch its
            # previous owner is committing, then skip what that batch decided (schema.sql).
            progress = await repository.claim_partitions(conn, self._group_id, list(batch))
            batch = self._undecided(batch, progress)
            if not batch:
                return
            read = read_batch([record for partition in batch.values() for record in partition], self._pseudonyms.of)
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            await repository.advance_partitions(conn, self._group_id, offsets)
            consents = await repository.lock_consents_of(conn, read.persons)
            now = await repository.database_now(conn)
            decided = decide_batch(read, consents, self._statutory, now)
            needed = decided.needed
            next_numbers = await repository.take_delivery_numbers(conn, needed) if needed else {}
            keys = await erasure.keys_for(conn, decided)
            plan = plan_decided(decided, next_numbers, keys.seal)
            try:
                async with asyncio.timeout(TRANSACTION_TIMEOUT):
                    await self._write(plan, offsets)
            except Exception:
                await self._fence()
                raise
        self.decided += len(read.arrivals)
        for d in plan.decisions:
            DECISION_COUNT.labels(d.sender, d.recipient or "-", str(d.forwarded).lower(), d.reason).inc()
        for reject in read.rejects:
            DEAD_LETTER_COUNT.labels(CONSUMER_NAME, reject.record.topic).inc()
        log.info(
            "batch decided",
            extra={
                "events": len(read.arrivals),
                "decisions": len(plan.decisions),
                "forwarded": sum(d.forwarded for d in plan.decisions),
                "dead_letters": len(read.rejects),
            },
        )

    def _undecided(
        self, batch: dict[TopicPartition, list[ConsumerRecord]], progress: dict[tuple[str, int], int]
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The records of `batch` from where each partition is decided up to; a partition decided
        past its records is skipped, the consumer moved on to where its next record is."""
        undecided, skipped = {}, 0
        for tp, records in batch.items():
            up_to = progress.get(tp, 0)  # a TopicPartition is a (topic, partition) tuple
            fresh = [record for record in records if record.offset >= up_to]
            skipped += len(records) - len(fresh)
            if fresh:
                undecided[tp] = fresh
            elif up_to > records[-1].offset + 1 and tp in self._consumer.assignment():
                self._consumer.seek(tp, up_to)
        if skipped:
            self.already_decided += skipped
            GATE_ALREADY_DECIDED.labels(self._group_id).inc(skipped)
            log.warning("skipped records another gate had decided", extra={"records": skipped})
        return undecided

    async def _write(self, plan: BatchPlan, offsets: dict[TopicPartition, int]) -> None:
        """One Kafka transaction: the plan's records (deliveries, shared copies, decisions, dead
        letters) and the consumed offsets."""
        producer = await self._producer.get()
        async with producer.transaction():
            for record in plan.records:
                await self._send(producer, record)
            await producer.send_offsets_to_transaction(offsets, self._group_id)

    async def _fence(self) -> None:
        """Discard the producer and start a new one with the same transactional id, retrying until
        the broker answers: its InitProducerId ends the old producer's transaction one way or the
        other. Called with the consent locks still held."""
        await self._producer.discard()
        backoff = Backoff("gate fencing its failed transaction")
        while True:
            try:
                await self._producer.get()
            except (KafkaError, OSError, TimeoutError) as exc:
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            return

    async def _send(self, producer: AIOKafkaProducer, record: Outgoing) -> None:
        partition = None
        if record.by_key:
            # the partition the default partitioner would pick, with the key's hash cached
            # (aiokafka would hash it again for every record, in pure Python)
            partitions = self._partition_counts.get(record.topic)
            if partitions is None:
                partitions = self._partition_counts[record.topic] = len(await producer.partitions_for(record.topic))
            partition = _key_hash(record.key) % partitions
        sent = await producer.send(
            record.topic, record.value, key=record.key, partition=partition, headers=list(record.headers) or None
        )
        sent.add_done_callback(retrieve_error)  # the transaction's commit reports a failed send

    async def _restart_consumer(self) -> None:
        """A new consumer in the same group, started (retried until the broker answers): it
        resumes from the committed offsets."""
        log.warning("the gate's consumer lost its group for good; starting a new one")
        CONSUMER_RESTARTS.labels(self._group_id).inc()
        await _stop_quietly(self._consumer)
        backoff = Backoff("starting a new gate consumer")
        while True:
            candidate = self._make_consumer()
            try:
                await candidate.start()
            except Exception as exc:
                await _stop_quietly(candidate)
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            self._consumer = candidate
            self.subscribe()
            return

    async def _rewind(self, partitions: list[TopicPartition]) -> None:
        backoff = Backoff("gate going back to its committed offsets")
        while True:
            owned = [tp for tp in partitions if tp in self._consumer.assignment()]
            try:
                if owned:
                    committed = await self._consumer.seek_to_committed(*owned)
                    # aiokafka seeks only where an offset above 0 was committed: a partition whose
                    # first batch failed would go on after it, its events never decided. Such a
                    # partition starts where a new group does (auto_offset_reset="earliest").
                    if never := [tp for tp, offset in committed.items() if not offset]:
                        await self._consumer.seek_to_beginning(*never)
            except (KafkaError, OSError, TimeoutError) as exc:
                await backoff.failed(exc)
                continue
            backoff.succeeded()
            return


class _HandOver(ConsumerRebalanceListener):
    """Lets a rebalance take partitions away only between batches.

    aiokafka's `send_offsets_to_transaction` carries no group generation, so the broker would take
    the offsets of a batch fetched before a rebalance even after another gate got its partitions
    and read the old offsets — and that batch would be decided twice. aiokafka awaits this callback
    before the consumer rejoins: it waits for the batch being decided to commit (or rewind), and
    counts the hand-over, so that a batch fetched before it is rewound, never decided. (The lock
    is not held while fetching: during a rebalance aiokafka's fetch waits for the new assignment,
    which waits for this callback.) A gate frozen past the session timeout is not asked: see
    docs/operations.md, "Gate replicas"."""

    def __init__(self) -> None:
        self.batch_in_hand = asyncio.Lock()
        self.count = 0
        self.closed = False  # the gate is stopping: no batch is decided any more

    async def on_partitions_revoked(self, revoked) -> None:
        if self.batch_in_hand.locked():
            log.info("partitions revoked; finishing the batch in hand first", extra={"partitions": len(revoked)})
        async with self.batch_in_hand:
            self.count += 1

    async def on_partitions_assigned(self, assigned) -> None:
        log.info("partitions assigned", extra={"partitions": len(assigned)})


async def _stop_quietly(consumer: AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(consumer.stop(), 10)
    except Exception as exc:  # a broken consumer may fail to stop too; it is dropped either way
        log.debug("stopping a gate consumer failed", extra={"error": repr(exc)})


@functools.lru_cache(maxsize=65536)
def _key_hash(key: bytes) -> int:
    """The Java client's (and aiokafka's) default partitioning hash, so a key lands where theirs would."""
    return murmur2(key) & 0x7FFFFFFF
