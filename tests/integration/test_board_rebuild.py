"""The board rebuilt from the beginning of its topics is the same board, on the real broker —
each principal's, with only the events that principal may see."""

import uuid

from aiokafka import AIOKafkaProducer

from contracts.topics import CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS, PER_PERSON_PARTITIONS, SHARED_EVENTS
from tests.support.board import rebuild_the_board
from tests.support.client import StackClient, event, eventually
from tests.support.personnummer import random_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"


def patients(board: dict) -> set[str]:
    return {row["patient"].replace("-", "") for row in board["rows"]}


async def test_a_rebuild_from_the_topics_yields_the_same_board(running_stack):
    client = StackClient(running_stack.stack_info())
    kept, revoked = random_person_id(), random_person_id()
    await client.grant(REGION, kept, [REGION, ALINGSAS])
    await client.grant(REGION, kept, [REGION, LERUM], excluded_categories=["test_results"])
    gone = await client.grant(REGION, revoked, [REGION, ALINGSAS])
    for body in (event(VISIT_MISSED, kept), event(SAMPLE_POSITIVE, kept), event(VISIT_MISSED, revoked)):
        await client.post_event(REGION, body)
    await client.post_event(ALINGSAS, event(INTERVENTION_DECIDED, kept))
    await eventually(
        lambda: client.board(REGION), lambda b: len(_row(b, kept)["ongoing"]) == 1 if _row(b, kept) else False
    )
    await eventually(lambda: client.board(REGION), lambda b: revoked.replace("-", "") in patients(b))
    await eventually(lambda: client.board(LERUM), lambda b: kept.replace("-", "") in patients(b))
    assert (await client.revoke(REGION, gone["id"])).status_code == 200
    await eventually(lambda: client.board(REGION), lambda b: revoked.replace("-", "") not in patients(b))
    before = {p: await client.board(p) for p in (REGION, ALINGSAS, LERUM)}

    # in this process, and then by three worker processes sharing the partitions (few records: the
    # default would start none)
    for options, processes in (((), "in this process"), (("--workers", "3"), "by 3 worker processes")):
        rebuild = await rebuild_the_board(running_stack, *options)

        assert "records applied" in rebuild.stdout and "shared.events: " in rebuild.stdout
        assert rebuild.stdout.count(processes) == 2, rebuild.stdout  # both topics
        after = {p: await client.board(p) for p in (REGION, ALINGSAS, LERUM)}
        assert settled(after, kept, revoked) == settled(before, kept, revoked), options
        assert kept.replace("-", "") in patients(after[REGION])
        assert revoked.replace("-", "") not in patients(after[REGION])
        lerum = _row(after[LERUM], kept)  # rebuilt with what Lerum may see, no more: the sample stayed away
        assert [a["kind"] for a in lerum["alerts"]] == ["missed_visit"] and lerum["parties"] == [LERUM, REGION]
    await client.close()


async def test_a_rebuild_ends_while_a_transaction_on_its_topics_is_still_open(running_stack):
    """The gate may be in the middle of a transaction when an operator rebuilds: the rebuild reads
    up to what is committed (the last stable offset) and ends, instead of waiting for records that
    a read_committed reader cannot see until the transaction ends."""
    # a transaction the broker would not end by itself while the rebuild runs (900 s is its maximum)
    producer = AIOKafkaProducer(
        **running_stack.kafka_options(), transactional_id=f"test-{uuid.uuid4()}", transaction_timeout_ms=900_000
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        both = ((SHARED_EVENTS, PER_PERSON_PARTITIONS), (CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS))
        for topic, partitions in both:
            for partition in range(partitions):
                await producer.send_and_wait(topic, b"not committed", partition=partition)

        rebuild = await rebuild_the_board(running_stack, "--workers", "2")  # fails by its timeout if it waits

        assert rebuild.stdout.count("by 2 worker processes") == 2, rebuild.stdout
    finally:
        await producer.abort_transaction()
        await producer.stop()


def settled(boards: dict[str, dict], *ours: str) -> dict[str, dict]:
    """The boards without what may move on its own clock while the test runs: an overdue receipt of
    an earlier test's event (the region's sweeper sends it when the deadline passes, live, between
    the two snapshots). The persons of this test have none, and are compared whole."""
    mine = {p.replace("-", "") for p in ours}

    def row(r: dict) -> dict:
        if r["patient"].replace("-", "") in mine:
            return r
        return {**r, "alerts": [a for a in r["alerts"] if a["kind"] != "receipt_overdue"]}

    return {p: {**b, "rows": [row(r) for r in b["rows"]]} for p, b in boards.items()}


def _row(board: dict, person: str) -> dict | None:
    return next((r for r in board["rows"] if r["patient"].replace("-", "") == person.replace("-", "")), None)
